import { test as base, expect, type Page } from '@playwright/test'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { docText, editor, expectLive, expectText, typeAtEnd } from '../fixtures.js'

/**
 * Two tabs on two DIFFERENT servers edit one room together (README "Deployment": two servers
 * sharing REDIS_URL and DATABASE_URL act as one). Black-box: two built servers as processes, the
 * real PostgreSQL and Redis on 127.0.0.1 (own schema and key prefix per test), two browser
 * contexts.
 */

const root = fileURLToPath(new URL('../..', import.meta.url))
const SERVER_MAIN = join(root, 'apps', 'server', 'dist', 'main.js')
const DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
const REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379'

/** Fails with the start command when a service is down (docs/conventions.md): never a silent skip. */
async function requireService(url: string, name: string, start: string): Promise<void> {
  const u = new URL(url)
  const ok = await new Promise<boolean>((resolve) => {
    const s = new Socket()
    const timer = setTimeout(() => {
      s.destroy()
      resolve(false)
    }, 3_000)
    s.once('connect', () => {
      clearTimeout(timer)
      s.destroy()
      resolve(true)
    })
    s.once('error', () => {
      clearTimeout(timer)
      resolve(false)
    })
    s.connect(Number(u.port), u.hostname)
  })
  if (!ok) throw new Error(`${name} is not reachable at ${url}; this test needs it. Start it with:\n  ${start}`)
}

/** The PostgreSQL driver the server already depends on, only to drop this test's schema afterwards. */
async function dropSchema(schema: string): Promise<void> {
  const pg = createRequire(join(root, 'apps', 'server', 'package.json'))('pg') as {
    Client: new (o: { connectionString: string }) => { connect(): Promise<void>; query(sql: string): Promise<unknown>; end(): Promise<void> }
  }
  const client = new pg.Client({ connectionString: DATABASE_URL })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } finally {
    await client.end()
  }
}

interface Server {
  url: string
  child: ChildProcess
}

async function startServer(env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, [SERVER_MAIN], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  child.stderr.setEncoding('utf8').on('data', (c: string) => (log = (log + c).slice(-4000)))
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`no ready line within 30 s\n${log}`)), 30_000)
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited (${code}) before it was ready\n${log}`))
    })
  })
  return { url, child }
}

const test = base.extend<{ cluster: { a: Server; b: Server } }>({
  cluster: async ({}, use) => {
    await requireService(DATABASE_URL, 'PostgreSQL', 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start')
    await requireService(
      REDIS_URL,
      'Redis',
      'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
    )
    const id = `${process.pid}_${randomBytes(4).toString('hex')}`
    const dataDir = mkdtempSync(join(tmpdir(), 'tandem-e2e-so-'))
    const env = {
      DATABASE_URL,
      PG_SCHEMA: `t_e2e_${id}`,
      REDIS_URL,
      REDIS_PREFIX: `e2e_${id}`,
      DATA_DIR: dataDir,
    }
    const servers: Server[] = []
    try {
      servers.push(...(await Promise.all([startServer(env), startServer(env)])))
      await use({ a: servers[0]!, b: servers[1]! })
    } finally {
      for (const s of servers) {
        if (s.child.exitCode === null) {
          const exited = new Promise((r) => s.child.once('exit', r))
          s.child.kill('SIGTERM')
          await exited
        }
      }
      await dropSchema(env.PG_SCHEMA)
      rmSync(dataDir, { recursive: true, force: true })
    }
  },
})

async function open(page: Page, server: Server, room: string, name: string): Promise<void> {
  await page.goto(`${server.url}/?${new URLSearchParams({ room, name })}`)
  await expectLive(page)
}

test('two tabs on two different servers edit one room together, carets included', async ({ browser, cluster }) => {
  const room = `two-servers-${randomBytes(3).toString('hex')}`
  const ctxA = await browser.newContext()
  const ctxB = await browser.newContext()
  try {
    const a = await ctxA.newPage()
    const b = await ctxB.newPage()
    await open(a, cluster.a, room, 'Ada on A')
    await open(b, cluster.b, room, 'Bo on B')

    await typeAtEnd(a, 'Hello from server A.')
    await expectText([a, b], 'Hello from server A.')
    await typeAtEnd(b, ' And from server B.')
    await expectText([a, b], 'Hello from server A. And from server B.')

    // Presence crosses servers: each tab shows the other's caret with its name.
    await expect(editor(a).locator('.collaboration-carets__caret', { hasText: 'Bo on B' })).toBeVisible()
    await expect(editor(b).locator('.collaboration-carets__caret', { hasText: 'Ada on A' })).toBeVisible()

    // Interleaved typing on both servers converges to the same text. Typed at the same spot at
    // the same time, the two strings may interleave character by character: compare the
    // characters that arrived, not their order.
    const before = 'Hello from server A. And from server B.'
    await Promise.all([typeAtEnd(a, ' [a]'), typeAtEnd(b, ' [b]')])
    const sorted = (s: string) => [...s].sort().join('')
    await expect
      .poll(async () => {
        const [ta, tb] = await Promise.all([docText(a), docText(b)])
        return ta === tb && ta.startsWith(before) && sorted(ta.slice(before.length)) === sorted(' [a] [b]')
      })
      .toBe(true)
  } finally {
    await ctxA.close()
    await ctxB.close()
  }
})
