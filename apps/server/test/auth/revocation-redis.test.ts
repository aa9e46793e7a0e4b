import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { CloseCode, MessageType } from '@tandem/sync'
import { startServer, type RunningServer } from '../helpers/server.js'
import { closeOf, upgradeStatus } from '../helpers/clients.js'
import { recordingSocket, withToken } from '../helpers/auth.js'
import { createTcpProxy, dropSchema, requirePostgres, requireRedis, uniqueName } from '../helpers/services.js'
import { S0, hsToken, revoke } from './key-helpers.js'

/**
 * Servers that act as one (same DATABASE_URL, REDIS_URL, REDIS_PREFIX) share the deny-list: a
 * revocation made through any of them closes matching sockets on all of them, is refused by all
 * of them at the handshake, is read by a server started later, and MAX_REVOCATIONS bounds the
 * deployment's list. Each test has its own schema and key prefix on the real PostgreSQL and Redis.
 */
let urls: { pg: string; redis: string }
beforeAll(async () => {
  urls = { pg: await requirePostgres(), redis: await requireRedis() }
})

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

const nowS = () => Math.floor(Date.now() / 1000)
const admin = () => hsToken(S0, { claims: { admin: true, room: undefined, access: undefined, sub: 'ops' } })

function deployment(extra: Record<string, string> = {}) {
  const schema = uniqueName('t_rev')
  const prefix = uniqueName('rev')
  const redis = new Redis(urls.redis)
  cleanup.push(async () => {
    await redis.del(`${prefix}:revocations`, `${prefix}:revocations:before`)
    redis.disconnect()
    await dropSchema(schema)
  })
  return {
    prefix,
    redis,
    async start(env: Record<string, string> = {}): Promise<RunningServer> {
      const s = await startServer({
        AUTH_SECRET: S0,
        DATABASE_URL: urls.pg,
        PG_SCHEMA: schema,
        REDIS_URL: urls.redis,
        REDIS_PREFIX: prefix,
        ...extra,
        ...env,
      })
      cleanup.push(() => s.close())
      await s.server.revocationsLoaded()
      return s
    },
  }
}

async function socket(s: RunningServer, t: string) {
  const sock = await recordingSocket(withToken(s.wsUrl, 'doc', t))
  cleanup.push(() => sock.ws.terminate())
  await sock.next((f) => f[0] === MessageType.Sync)
  return sock
}

describe('revocations shared over Redis', () => {
  it('revoked through one server: the sockets on the other close with 4001, both refuse the token, a later server too', async () => {
    const d = deployment()
    const [a, b] = [await d.start(), await d.start()]
    const leaked = await hsToken(S0, { claims: { jti: 'leaked' } })
    const onA = await socket(a, leaked)
    const onB = await socket(b, leaked)
    const bystander = await socket(b, await hsToken(S0, { claims: { jti: 'ok' } }))
    const closed = [closeOf(onA.ws), closeOf(onB.ws)]
    const r = await revoke(a.url, await admin(), { jti: 'leaked' })
    expect(r).toMatchObject({ status: 200, json: { closed: 1 } })
    for (const c of await Promise.all(closed)) expect(c).toEqual({ code: CloseCode.TokenExpired, reason: 'token revoked' })
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN)
    expect(await upgradeStatus(withToken(a.wsUrl, 'doc', leaked))).toBe(401)
    expect(await upgradeStatus(withToken(b.wsUrl, 'doc', leaked))).toBe(401)
    // A server that was not running at the time reads the list when it starts.
    const c = await d.start()
    expect(await upgradeStatus(withToken(c.wsUrl, 'doc', leaked))).toBe(401)
    expect(await upgradeStatus(withToken(c.wsUrl, 'doc', await hsToken(S0)))).toBe(101)
    // Stored with its expiry: the key goes away by itself when its last entry does.
    const ttl = await d.redis.pttl(`${d.prefix}:revocations`)
    expect(ttl).toBeGreaterThan(6 * 86400_000)
    expect(ttl).toBeLessThanOrEqual(7 * 86400_000 + 1000)
  })

  it('by sub through the second server closes the user on the first', async () => {
    const d = deployment()
    const [a, b] = [await d.start(), await d.start()]
    const before = nowS()
    const mallory = await socket(a, await hsToken(S0, { claims: { sub: 'mallory', iat: before - 30 } }))
    const later = await socket(a, await hsToken(S0, { claims: { sub: 'mallory', iat: before + 1 } }))
    const closed = closeOf(mallory.ws)
    expect((await revoke(b.url, await admin(), { sub: 'mallory', before })).status).toBe(200)
    expect((await closed).code).toBe(CloseCode.TokenExpired)
    expect(later.ws.readyState).toBe(later.ws.OPEN)
    expect(await upgradeStatus(withToken(a.wsUrl, 'doc', await hsToken(S0, { claims: { sub: 'mallory', iat: before - 1 } })))).toBe(401)
  })

  it('MAX_REVOCATIONS bounds the shared list: entries made through either server count', async () => {
    const d = deployment({ MAX_REVOCATIONS: '3' })
    const [a, b] = [await d.start(), await d.start()]
    const t = await admin()
    expect((await revoke(a.url, t, { jti: 'one' })).status).toBe(200)
    expect((await revoke(b.url, t, { jti: 'two' })).status).toBe(200)
    expect((await revoke(a.url, t, { sub: 'three' })).status).toBe(200)
    expect((await revoke(b.url, t, { jti: 'four' })).status).toBe(507)
    expect((await revoke(a.url, t, { jti: 'four' })).status).toBe(507)
    expect((await revoke(b.url, t, { jti: 'one', exp: nowS() + 3600 })).status).toBe(200)
    expect(await d.redis.zcard(`${d.prefix}:revocations`)).toBe(3)
  })

  it('Redis unreachable: the revocation is enforced on the server that got it, and the caller is told it was not shared (503)', async () => {
    const proxy = await createTcpProxy(urls.redis)
    cleanup.push(() => proxy.close())
    const d = deployment()
    const a = await d.start({ REDIS_URL: proxy.url('redis:') })
    const leaked = await hsToken(S0, { claims: { jti: 'during-outage' } })
    const sock = await socket(a, leaked)
    const closed = closeOf(sock.ws)
    await proxy.cut()
    const r = await revoke(a.url, await admin(), { jti: 'during-outage' })
    expect(r).toMatchObject({ status: 503, json: { error: 'revocation-not-shared', closed: 1 } })
    expect((await closed).code).toBe(CloseCode.TokenExpired)
    expect(await upgradeStatus(withToken(a.wsUrl, 'doc', leaked))).toBe(401)
    expect(await d.redis.exists(`${d.prefix}:revocations`)).toBe(0)
  })
})
