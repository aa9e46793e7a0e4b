import { randomBytes } from 'node:crypto'
import { Socket } from 'node:net'
import pg from 'pg'

/**
 * The real PostgreSQL and Redis the scale-out tests run against (README "Test it": both run on
 * 127.0.0.1, and CI uses the same machine; TEST_DATABASE_URL / TEST_REDIS_URL point elsewhere).
 *
 * A test that needs a service and finds it down FAILS with the command that starts it: skipping
 * would let a broken setup look green. Each test isolates itself with its own schema / key prefix.
 */
const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
const TEST_REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379'

const START_POSTGRES = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
const START_REDIS =
  'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log'

/** Throws (failing the test) unless PostgreSQL answers `SELECT 1` at TEST_DATABASE_URL. */
export async function requirePostgres(): Promise<string> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3_000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return TEST_DATABASE_URL
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${TEST_DATABASE_URL} (${(err as Error).message}).\n` +
        `These tests need the real database. Start it with:\n  ${START_POSTGRES}\n` +
        `or point TEST_DATABASE_URL at another server (trust auth, a database the user may create schemas in).`,
      { cause: err },
    )
  } finally {
    await client.end().catch(() => {})
  }
}

/** Throws (failing the test) unless Redis answers PING at TEST_REDIS_URL. Raw RESP: no client state to leak. */
export async function requireRedis(): Promise<string> {
  const { hostname, port } = new URL(TEST_REDIS_URL)
  try {
    await new Promise<void>((resolve, reject) => {
      const sock = new Socket()
      const timer = setTimeout(() => {
        sock.destroy()
        reject(new Error('no answer within 3 s'))
      }, 3_000)
      let reply = ''
      sock.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
      sock.on('data', (d) => {
        reply += d.toString()
        if (reply.includes('\r\n')) {
          clearTimeout(timer)
          sock.end()
          if (reply.startsWith('+PONG')) resolve()
          else reject(new Error(`unexpected reply ${JSON.stringify(reply.trim())}`))
        }
      })
      sock.connect(Number(port || 6379), hostname.replace(/^\[|\]$/g, ''), () => sock.write('PING\r\n'))
    })
    return TEST_REDIS_URL
  } catch (err) {
    throw new Error(
      `Redis is not reachable at ${TEST_REDIS_URL} (${(err as Error).message}).\n` +
        `These tests need the real Redis. Start it with:\n  ${START_REDIS}\n` +
        `or point TEST_REDIS_URL at another server.`,
      { cause: err },
    )
  }
}

/** A name no other test run uses: lower-case identifier, fits PostgreSQL's 63-byte limit. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(5).toString('hex')}`
}

/** DROP SCHEMA … CASCADE with a short-lived connection (after the stores under test are closed). */
export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3_000 })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '""')}" CASCADE`)
  } finally {
    await client.end()
  }
}

/** One-off query against the test database (fixtures that poke behind the store's back). */
export async function withPg<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3_000 })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/**
 * A TCP proxy in front of a service, so ONE test's links to it can be cut and restored
 * ("Redis restarted" for one server) without touching the shared service other tests use.
 * `cut()` destroys every proxied connection and refuses new ones; `restore()` accepts again on
 * the same port.
 */
export interface TcpProxy {
  port: number
  url(protocol: string): string
  cut(): Promise<void>
  restore(): Promise<void>
  close(): Promise<void>
}

export async function createTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const { createServer } = await import('node:net')
  const target = new URL(targetUrl)
  const targetPort = Number(target.port || 6379)
  const targetHost = target.hostname.replace(/^\[|\]$/g, '')
  const sockets = new Set<import('node:net').Socket>()
  let server = makeServer()
  function makeServer() {
    return createServer((client) => {
      const upstream = new Socket()
      sockets.add(client)
      sockets.add(upstream)
      const drop = () => {
        client.destroy()
        upstream.destroy()
        sockets.delete(client)
        sockets.delete(upstream)
      }
      client.on('error', drop).on('close', drop)
      upstream.on('error', drop).on('close', drop)
      upstream.connect(targetPort, targetHost, () => {
        client.pipe(upstream)
        upstream.pipe(client)
      })
    })
  }
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve((server.address() as import('node:net').AddressInfo).port)
      })
    })
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      sockets.clear()
      if (!server.listening) return resolve()
      server.close(() => resolve())
    })
  const port = await listen(0)
  return {
    port,
    url: (protocol) => {
      const u = new URL(targetUrl)
      u.protocol = protocol
      u.hostname = '127.0.0.1'
      u.port = String(port)
      return u.toString()
    },
    cut: stop,
    async restore() {
      if (server.listening) return
      server = makeServer()
      await listen(port)
    },
    close: stop,
  }
}

/**
 * Built Tandem servers (child processes, PORT=0) sharing one PostgreSQL schema and one Redis key
 * prefix, both unique to the caller. `cleanups` receives what undoes each step (kill, drop).
 */
export interface ServerCluster {
  schema: string
  prefix: string
  start(extraEnv?: Record<string, string>): Promise<import('./server.js').ChildServer>
}

export async function createCluster(
  urls: { pg: string; redis: string },
  cleanups: (() => unknown)[],
): Promise<ServerCluster> {
  const { spawnServer, tempDir, removeDir } = await import('./server.js')
  const schema = uniqueName('t_so')
  const prefix = uniqueName('so')
  const dataDir = tempDir()
  cleanups.push(async () => {
    await dropSchema(schema)
    removeDir(dataDir)
  })
  return {
    schema,
    prefix,
    async start(extraEnv = {}) {
      const s = await spawnServer({
        DATABASE_URL: urls.pg,
        PG_SCHEMA: schema,
        REDIS_URL: urls.redis,
        REDIS_PREFIX: prefix,
        // Short, so a dead server is noticed quickly.
        FANOUT_HEARTBEAT_MS: '100',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'info',
        ...extraEnv,
      // Generous: on a loaded shared machine a start (migration included) can take seconds.
      }, { timeoutMs: 30_000 })
      cleanups.push(async () => {
        if (s.child.exitCode === null && s.child.signalCode === null) {
          s.child.kill('SIGKILL')
          await s.exited
        }
      })
      return s
    },
  }
}
