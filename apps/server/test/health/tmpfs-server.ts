import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url))

/**
 * The BUILT server on a small tmpfs of its own, so its disk can really fill up (ENOSPC, what
 * SQLite reports as SQLITE_FULL) without filling anyone else's. The tmpfs is mounted in a private
 * mount namespace (`unshare --mount`) over an empty temp dir: nobody else sees it, and it
 * vanishes with the process. The test reaches the server's files through /proc/<pid>/root.
 */
export interface TmpfsServer {
  child: ChildProcess
  url: string
  wsUrl: string
  /** DATA_DIR as this process can read and write it (inside the server's namespace) */
  dataDir: string
  stderr(): string
  stop(): Promise<void>
}

/** Fails the test, with what it needs, unless mount namespaces can be created here. */
export function requireMountNamespace(): void {
  const r = spawnSync('unshare', ['--mount', '--map-root-user', 'true'], { encoding: 'utf8' })
  if (r.error || r.status !== 0) {
    throw new Error(
      'This test puts the server on its own tmpfs in a private mount namespace. It needs util-linux `unshare` ' +
        `and mount namespaces (root, or unprivileged user namespaces enabled). unshare said: ${r.error?.message ?? r.stderr.trim()}`,
    )
  }
}

export async function spawnOnTmpfs(sizeBytes: number, env: Record<string, string>): Promise<TmpfsServer> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`pnpm build\` first (pnpm test does)`)
  const mountPoint = mkdtempSync(join(tmpdir(), 'tandem-tmpfs-'))
  // unshare and sh exec: the pid we get is the server's own.
  const child = spawn(
    'unshare',
    ['--mount', '--map-root-user', 'sh', '-c', 'mount -t tmpfs -o size="$TMPFS_BYTES" tandem-test "$DATA_DIR" && exec "$0" "$1"', process.execPath, MAIN],
    {
      env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env, DATA_DIR: mountPoint, TMPFS_BYTES: String(sizeBytes) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
    rmSync(mountPoint, { recursive: true, force: true })
  }
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server not ready after 10 s; stderr:\n${stderr}`)), 10_000)
      child.stdout.on('data', (d) => {
        stdout += d
        const m = /listening on http:\/\/[^:]+:(\d+)/.exec(stdout)
        if (m) {
          clearTimeout(timer)
          resolve(Number(m[1]))
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`server exited (${code}) before ready; stderr:\n${stderr}`))
      })
    })
    return {
      child,
      url: `http://127.0.0.1:${port}`,
      wsUrl: `ws://127.0.0.1:${port}`,
      dataDir: `/proc/${child.pid}/root${mountPoint}`,
      stderr: () => stderr,
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}
