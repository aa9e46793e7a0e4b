import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { text, yws } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { dropSchema, requirePostgres, requireRedis, uniqueName } from '../helpers/services.js'
import { createFaultProxy, type FaultProxy } from './fault-proxy.js'
import { healthUntil, healthz, startLoggedServer } from './harness.js'

/**
 * Redis faults, seen through /healthz. The server under test reaches Redis through a proxy of
 * the test's own (fault-proxy.ts), so the shared Redis is never disturbed. Redis trouble makes a
 * server `degraded` (200): it still stores and relays edits to its own clients; only the other
 * servers hear of them late (health/model.ts says why this is not a 503).
 */
let pgUrl = ''
let redisUrl = ''
beforeAll(async () => {
  redisUrl = await requireRedis()
  pgUrl = await requirePostgres()
})

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => {})
})

async function proxy(): Promise<FaultProxy> {
  const p = await createFaultProxy(redisUrl, 6379)
  cleanups.push(() => p.close())
  return p
}

async function server(env: Record<string, string>) {
  // Probes every 100 ms (min(FANOUT_HEARTBEAT_MS, 1 s)); a stall shows after 1 s.
  const s = await startLoggedServer({ FANOUT_HEARTBEAT_MS: '100', ...env })
  cleanups.push(() => s.close())
  return s
}

function client(wsUrl: string, room: string) {
  const c = yws(wsUrl, room)
  cleanups.push(() => c.destroy())
  return { ...c, text: () => text(c.doc), type: (s: string) => c.doc.getText('t').insert(c.doc.getText('t').length, s) }
}

/** REDIS_URL needs DATABASE_URL (servers sharing a fan-out share one store): a schema of this test's own. */
function sharedStore() {
  const schema = uniqueName('t_hz')
  cleanups.push(() => dropSchema(schema))
  return { DATABASE_URL: pgUrl, PG_SCHEMA: schema, REDIS_PREFIX: uniqueName('hz') }
}

const isOk = (h: { code: number; body: { status: string } }) => h.code === 200 && h.body.status === 'ok'

describe('/healthz and Redis faults', () => {
  it('Redis unreachable: 200 degraded (fanout disconnected), edits still stored and relayed here; ok again when it is back', async () => {
    const p = await proxy()
    const a = await server({ ...sharedStore(), REDIS_URL: p.url('redis:') })
    expect(await healthUntil(a.url, 'ok at start', isOk)).toMatchObject({ body: { fanout: { kind: 'redis', state: 'ok', ok: true } } })

    const since = a.mark()
    await p.cut()
    const down = await healthUntil(a.url, 'degraded', (h) => h.body.status === 'degraded')
    expect(down.code).toBe(200)
    expect(down.body.fanout).toMatchObject({ kind: 'redis', state: 'down', ok: false, reason: 'disconnected' })
    expect(down.body.fanout.detail).toMatch(/^redis subscriber \w+, publisher \w+; \d+ message\(s\) queued locally$/)
    expect(down.body.fanout.detail).not.toMatch(/subscriber ready, publisher ready/)
    expect(down.body.store).toMatchObject({ kind: 'postgres', state: 'ok' })

    // Serving what it can: two clients of this server still edit together.
    const [one, two] = [client(a.wsUrl, 'local'), client(a.wsUrl, 'local')]
    one.type('still here')
    await until(() => two.text() === 'still here', 'local relay while Redis is down')

    // Asked many times, told once.
    for (let i = 0; i < 5; i++) expect((await healthz(a.url)).body.status).toBe('degraded')
    expect(a.logged(/^health: ok → degraded$/, since)).toBe(1)
    expect(a.logged(/lost the Redis connection/, since)).toBe(2) // subscriber and publisher

    await p.restore()
    const back = await healthUntil(a.url, 'ok once Redis is back', isOk)
    expect(back.body.fanout).toMatchObject({ state: 'ok', ok: true })
    expect(back.body.fanout.reason).toBeUndefined()
    expect(a.logged(/^health: degraded → ok$/, since)).toBe(1)
  })

  it('Redis stalled (connected, nothing crossing: paused or partitioned): 200 degraded (fanout stalled), logged once; cross-server edits flow again after it', async () => {
    // Two servers sharing a store and a Redis prefix; only A's Redis links go through the proxy.
    const shared = sharedStore()
    const p = await proxy()
    const a = await server({ ...shared, REDIS_URL: p.url('redis:') })
    const b = await server({ ...shared, REDIS_URL: redisUrl })
    await healthUntil(a.url, 'A ok', isOk)
    await healthUntil(b.url, 'B ok', isOk)
    const [onA, alsoOnA, onB] = [client(a.wsUrl, 'r'), client(a.wsUrl, 'r'), client(b.wsUrl, 'r')]
    onB.type('before;')
    await until(() => onA.text() === 'before;', 'B → A before the stall')

    const since = a.mark()
    p.pause()
    // A server closing while Redis stalls waits for it (unsubscribing): let it through if this test fails first.
    cleanups.push(() => p.resume())
    const stalled = await healthUntil(a.url, 'stalled', (h) => h.body.fanout.reason === 'stalled')
    expect(stalled.code).toBe(200)
    expect(stalled.body).toMatchObject({ status: 'degraded', store: { kind: 'postgres', state: 'ok' }, fanout: { kind: 'redis', state: 'down', ok: false } })
    expect(stalled.body.fanout.detail).toMatch(/no probe came back through Redis for \d+ ms/)
    // The links are still connected: a closed socket is not what told it.
    expect(a.logged(/lost the Redis connection/, since)).toBe(0)

    // Edits go on: stored, and relayed to this server's clients.
    onA.type('during;')
    onB.type('fromB;')
    await until(() => alsoOnA.text().includes('during;'), 'local relay during the stall')
    for (let i = 0; i < 5; i++) expect((await healthz(a.url)).body.status).toBe('degraded')
    expect(a.logged(/Redis is connected but not answering/, since)).toBe(1)
    expect(a.logged(/^health: ok → degraded$/, since)).toBe(1)

    p.resume()
    await healthUntil(a.url, 'ok after the stall', isOk)
    expect(a.logged(/Redis answers again/, since)).toBe(1)
    expect(a.logged(/^health: degraded → ok$/, since)).toBe(1)
    await until(() => onA.text() === onB.text() && onA.text().includes('during;') && onA.text().includes('fromB;'), 'both servers converge')
  })
})
