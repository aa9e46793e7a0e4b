import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/log.js'
import { createBackends } from '../../src/backends.js'
import { createTandemServer, type TandemServer } from '../../src/server.js'
import type { DocStore } from '../../src/store/types.js'

export const tempDir = (prefix = 'tandem-test-'): string => mkdtempSync(join(tmpdir(), prefix))

export interface RunningServer {
  url: string
  wsUrl: string
  port: number
  dataDir: string
  server: TandemServer
  close(): Promise<void>
}

/** A real server on a real port (PORT=0) in this process, with its own temp DATA_DIR. */
export async function startServer(
  env: Record<string, string> = {},
  opts: { wrapStore?: (store: DocStore) => DocStore } = {},
): Promise<RunningServer> {
  const dataDir = env.DATA_DIR ?? tempDir()
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env, DATA_DIR: dataDir }, { editorDir: '' })
  const log = createLogger(config.logLevel)
  const backends = await createBackends(config, log)
  const store = opts.wrapStore ? opts.wrapStore(backends.store) : backends.store
  const fanout = backends.fanout
  const server = createTandemServer({ config, store, fanout, log })
  const { port } = await server.listen()
  let closed = false
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    dataDir,
    server,
    async close() {
      if (closed) return
      closed = true
      await server.close()
      await fanout.close()
      await store.close()
    },
  }
}

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url))

export interface ChildServer {
  child: ChildProcess
  port: number
  url: string
  wsUrl: string
  stderr: () => string
  /** resolves with the exit code (or signal) */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** The BUILT server as a child process (what `pnpm serve` runs), for kill -9 and signal tests. */
export async function spawnServer(
  env: Record<string, string>,
  /** onChild: the process as soon as it exists (to kill it before it is ready: chaos tests) */
  opts: { timeoutMs?: number; onChild?: (child: ChildProcess) => void } = {},
): Promise<ChildServer> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`pnpm build\` first (pnpm test does)`)
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  opts.onChild?.(child)
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not ready after ${opts.timeoutMs ?? 10000} ms; stderr:\n${stderr}`)), opts.timeoutMs ?? 10_000)
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
  return { child, port, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}`, stderr: () => stderr, exited }
}

export const removeDir = (dir: string) => rmSync(dir, { recursive: true, force: true })
