import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, readdirSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import pg from 'pg'
import { removeDir, tempDir } from '../helpers/server.js'
import { until } from '../helpers/wait.js'

/**
 * PostgreSQL and Redis instances of ONE test's own (own temp dir, own free port), for the faults
 * that stop the service itself: a restart or a kill must never touch the machine's shared
 * services, which other tests use at the same time. Failing to start one fails the test with
 * what to install or fix; it never skips.
 */

/** A port nothing listens on right now (the OS picks it; the instance binds it a moment later). */
async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as AddressInfo
  await new Promise((resolve) => s.close(resolve))
  return port
}

function pgBin(name: string): string {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []
  for (const v of versions) {
    const p = join(root, v, 'bin', name)
    if (existsSync(p)) return p
  }
  throw new Error(`${name} not found under ${root}/*/bin: the chaos tests start a private PostgreSQL. Install the server: apt-get install postgresql`)
}

/**
 * initdb and postgres refuse to run as root: as root (CI), they run as the `postgres` user
 * (spawn's uid/gid), which owns the temp dir. Otherwise as whoever runs the tests.
 */
function pgUser(dir: string): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {}
  const u = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' })
  if (u.status !== 0 || g.status !== 0) throw new Error('running as root, and there is no `postgres` user to run a private PostgreSQL as (initdb refuses root): install postgresql (apt-get install postgresql), or run the tests as a normal user')
  const ids = { uid: Number(u.stdout), gid: Number(g.stdout) }
  chownSync(dir, ids.uid, ids.gid)
  return ids
}

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string
  /** stops the server the way a restart does (`pg_ctl stop -m fast`: every session is terminated) */
  stop(): Promise<void>
  /** starts it again on the same port and data directory */
  start(): Promise<void>
  close(): Promise<void>
}

/** initdb into a temp dir and start a postgres on a free port, unix socket in that dir. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = tempDir('tandem-pg-')
  const data = join(dir, 'data')
  const user = pgUser(dir)
  const port = await freePort()
  const init = spawnSync(pgBin('initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], { encoding: 'utf8', ...user })
  if (init.status !== 0) {
    removeDir(dir)
    throw new Error(`initdb of a private PostgreSQL failed (${init.status}): ${init.stderr || init.error?.message}\nThe chaos tests need the PostgreSQL server binaries (apt-get install postgresql) and, as root, the postgres user.`)
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  let proc: ChildProcess | undefined
  let log = ''

  const ready = () =>
    until(
      async () => {
        if (proc?.exitCode !== null) throw new Error(`postgres exited (${proc?.exitCode}): ${log}`)
        const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 })
        c.on('error', () => {})
        try {
          await c.connect()
          await c.query('SELECT 1')
          return true
        } finally {
          await c.end().catch(() => {})
        }
      },
      'the private PostgreSQL to accept connections',
      20_000,
    )

  const start = async () => {
    const args = [
      '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1',
      '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=50',
    ]
    log = ''
    const p = spawn(pgBin('postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir, ...user })
    p.stderr.on('data', (d) => (log = (log + d).slice(-4000)))
    proc = p
    try {
      await ready()
    } catch (err) {
      throw new Error(`a private PostgreSQL did not start on port ${port}: ${(err as Error).message}`, { cause: err })
    }
  }
  const stop = async () => {
    const p = proc
    if (!p || p.exitCode !== null || p.signalCode !== null) return
    const exited = new Promise((resolve) => p.once('exit', resolve))
    // SIGINT is postgres' "fast" shutdown (pg_ctl -m fast): sessions are terminated (57P01), then it exits.
    p.kill('SIGINT')
    await exited
  }

  await start()
  return {
    url,
    stop,
    start,
    async close() {
      const p = proc
      if (p && p.exitCode === null && p.signalCode === null) {
        const exited = new Promise((resolve) => p.once('exit', resolve))
        p.kill('SIGQUIT') // immediate shutdown: nothing to keep
        await exited
      }
      removeDir(dir)
    },
  }
}

export interface PrivateRedis {
  url: string
  /** SIGKILL: a crash, every connection reset at once */
  kill(): Promise<void>
  /** a new redis-server on the same port (empty: nothing is persisted) */
  start(): Promise<void>
  close(): Promise<void>
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort()
  const dir = tempDir('tandem-redis-')
  let proc: ChildProcess | undefined
  let log = ''
  const start = async () => {
    log = ''
    const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] })
    p.stdout.on('data', (d) => (log = (log + d).slice(-4000)))
    p.stderr.on('data', (d) => (log = (log + d).slice(-4000)))
    const failed = new Promise<never>((_, reject) => {
      p.once('error', (err) => reject(new Error(`redis-server could not be started (${err.message}): the chaos tests start a private Redis. Install it: apt-get install redis-server`)))
      p.once('exit', (code) => reject(new Error(`redis-server exited (${code}) on port ${port}: ${log}`)))
    })
    failed.catch(() => {})
    proc = p
    await Promise.race([failed, until(() => /Ready to accept connections/.test(log), `the private Redis on port ${port} to be ready`, 10_000)])
  }
  const kill = async () => {
    const p = proc
    if (!p || p.exitCode !== null || p.signalCode !== null) return
    const exited = new Promise((resolve) => p.once('exit', resolve))
    p.kill('SIGKILL')
    await exited
  }
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    kill,
    async close() {
      await kill()
      removeDir(dir)
    },
  }
}
