import { afterEach, describe, expect, it } from 'vitest'
import { CloseCode, MessageType } from '@tandem/sync'
import { startServer, type RunningServer } from '../helpers/server.js'
import { metric } from '../helpers/metrics.js'
import { closeOf, upgradeStatus } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { get, recordingSocket, withToken } from '../helpers/auth.js'
import { S0, S1, hsToken, revoke } from './key-helpers.js'

/**
 * Revocation before exp: POST /api/revocations with an admin token (claim `admin: true`, as a
 * Bearer header) puts a jti, or a sub (tokens issued before `before`), on the deny-list. Matching
 * live connections are closed at once with 4001, new handshakes and /api requests get 401
 * `token-revoked`. The list is bounded (MAX_REVOCATIONS) and forgets an entry at its `exp`.
 */
const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

async function server(env: Record<string, string> = { AUTH_SECRET: S0 }): Promise<RunningServer> {
  const s = await startServer(env)
  cleanup.push(() => s.close())
  return s
}

const nowS = () => Math.floor(Date.now() / 1000)
const admin = () => hsToken(S0, { claims: { admin: true, room: undefined, access: undefined, sub: 'ops' } })

async function socket(s: RunningServer, t: string) {
  const sock = await recordingSocket(withToken(s.wsUrl, 'doc', t))
  cleanup.push(() => sock.ws.terminate())
  await sock.next((f) => f[0] === MessageType.Sync)
  return sock
}

async function revokedSessions(s: RunningServer): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text()
  return Number(/^tandem_revoked_sessions_total (\d+)/m.exec(text)?.[1] ?? NaN)
}

describe('POST /api/revocations', () => {
  it('by jti: the live socket of that token closes with 4001, others stay; the token is refused from then on', async () => {
    const s = await server()
    const leaked = await hsToken(S0, { claims: { jti: 'leaked-1' } })
    const sameUser = await hsToken(S0, { claims: { jti: 'fine-2' } })
    const a = await socket(s, leaked)
    const b = await socket(s, sameUser)
    const aClosed = closeOf(a.ws)
    const r = await revoke(s.url, await admin(), { jti: 'leaked-1' })
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({ revoked: { jti: 'leaked-1' }, closed: 1 })
    // Default lifetime of the entry: REVOCATION_TTL_SECONDS (7 days).
    expect(r.json.revoked).toHaveProperty('exp')
    expect((r.json.revoked as { exp: number }).exp).toBeGreaterThan(nowS() + 7 * 86400 - 60)
    expect(await aClosed).toEqual({ code: CloseCode.TokenExpired, reason: 'token revoked' })
    expect(b.ws.readyState).toBe(b.ws.OPEN)
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc', leaked))).toBe(401)
    expect(await metric(s, 'tandem_rejected_upgrades_total', 'token-revoked')).toBe(1)
    expect((await get(`${s.url}/api/rooms/doc/state`, { Authorization: `Bearer ${leaked}` })).status).toBe(401)
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc', sameUser))).toBe(101)
    expect(await revokedSessions(s)).toBe(1)
    await until(() => s.server.connectionCount === 1, 'only the other socket left')
  })

  it('by sub: every socket of that user with a token issued before `before` closes; later tokens and other users are untouched', async () => {
    const s = await server()
    const before = nowS()
    const old1 = await socket(s, await hsToken(S0, { claims: { sub: 'mallory', iat: before - 60 } }))
    const old2 = await socket(s, await hsToken(S0, { claims: { sub: 'mallory', iat: before - 1 } }))
    // No iat: nobody can tell when it was issued, so a sub-wide revocation covers it.
    const noIat = await socket(s, await hsToken(S0, { claims: { sub: 'mallory' } }))
    const fresh = await socket(s, await hsToken(S0, { claims: { sub: 'mallory', iat: before } }))
    const bob = await socket(s, await hsToken(S0, { claims: { sub: 'bob', iat: before - 60 } }))
    const closed = [old1, old2, noIat].map((x) => closeOf(x.ws))
    const r = await revoke(s.url, await admin(), { sub: 'mallory', before })
    expect(r).toMatchObject({ status: 200, json: { revoked: { sub: 'mallory', before }, closed: 3 } })
    for (const c of await Promise.all(closed)) expect(c.code).toBe(CloseCode.TokenExpired)
    expect(fresh.ws.readyState).toBe(fresh.ws.OPEN)
    expect(bob.ws.readyState).toBe(bob.ws.OPEN)
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc', await hsToken(S0, { claims: { sub: 'mallory', iat: before - 5 } })))).toBe(401)
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc', await hsToken(S0, { claims: { sub: 'mallory', iat: before + 1 } })))).toBe(101)
    expect(await revokedSessions(s)).toBe(3)
  })

  it('sub without before = now: the user signs in again (a token minted afterwards) and is admitted', async () => {
    const s = await server()
    const t = await hsToken(S0, { claims: { sub: 'carol', iat: nowS() - 10 } })
    const sock = await socket(s, t)
    const closed = closeOf(sock.ws)
    expect((await revoke(s.url, await admin(), { sub: 'carol' })).status).toBe(200)
    expect((await closed).code).toBe(CloseCode.TokenExpired)
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc', t))).toBe(401)
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc', await hsToken(S0, { claims: { sub: 'carol', iat: nowS() + 1 } })))).toBe(101)
  })

  it('needs an admin token, as a Bearer header', async () => {
    const s = await server({ AUTH_SECRET: S0, AUTH_SECRETS: `k1:${S1}` })
    const body = { jti: 'x' }
    expect((await revoke(s.url, undefined, body)).status).toBe(401)
    // A writer for every room is still not an admin.
    expect((await revoke(s.url, await hsToken(S0, { claims: { room: '*', access: 'write' } }), body)).status).toBe(403)
    expect((await revoke(s.url, await hsToken(S0, { claims: { admin: 'yes' } }), body)).status).toBe(401)
    expect((await revoke(s.url, await hsToken(S1, { kid: 'k9', claims: { admin: true } }), body)).status).toBe(401)
    expect((await revoke(s.url, await hsToken(S0, { claims: { admin: true, exp: nowS() - 1 } }), body)).status).toBe(401)
    // ?token= is not read here: an admin credential does not belong in a URL.
    const viaQuery = await fetch(`${s.url}/api/revocations?token=${await admin()}`, { method: 'POST', body: JSON.stringify(body) })
    expect(viaQuery.status).toBe(401)
    expect(await metric(s, 'tandem_rejected_requests_total', 'not-admin')).toBe(1)
    expect(await metric(s, 'tandem_rejected_requests_total', 'token-missing')).toBe(2)
    // Any key verifies an admin token: here a named secret.
    expect((await revoke(s.url, await hsToken(S1, { kid: 'k1', claims: { admin: true } }), body)).status).toBe(200)
    // An admin token can itself be revoked.
    const adminToken = await hsToken(S0, { claims: { admin: true, jti: 'admin-1' } })
    expect((await revoke(s.url, adminToken, { jti: 'admin-1' })).status).toBe(200)
    expect((await revoke(s.url, adminToken, body)).status).toBe(401)
  })

  it('refuses malformed requests with 400 (405 for other methods, 413 for a large body) and changes nothing', async () => {
    const s = await server()
    const a = await admin()
    const bad: unknown[] = [
      {},
      { jti: 'a', sub: 'b' },
      { jti: '' },
      { jti: 'x'.repeat(257) },
      { jti: 42 },
      { jti: 'a', before: nowS() },
      { sub: 'a', before: 'yesterday' },
      { jti: 'a', exp: nowS() - 10 },
      { jti: 'a', exp: 'soon' },
      { jti: 'a', sbu: 'typo' },
      ['jti', 'a'],
      null,
    ]
    for (const body of bad) expect((await revoke(s.url, a, body)).status, JSON.stringify(body)).toBe(400)
    expect((await revoke(s.url, a, undefined, { rawBody: '{"jti":' })).status).toBe(400)
    expect((await revoke(s.url, a, undefined, { rawBody: JSON.stringify({ jti: 'a', pad: 'x'.repeat(5000) }) })).status).toBe(413)
    expect((await revoke(s.url, a, undefined, { method: 'GET' })).status).toBe(405)
    expect(await metric(s, 'tandem_rejected_requests_total', 'bad-revocation')).toBe(13)
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc', await hsToken(S0, { claims: { jti: 'a' } })))).toBe(101)
  })

  it('on an open server there is nothing to revoke: 404', async () => {
    const s = await server({})
    expect((await revoke(s.url, await admin(), { jti: 'a' })).status).toBe(404)
  })
})

describe('the deny-list is bounded and forgets expired entries', () => {
  it('MAX_REVOCATIONS: a new entry beyond it is refused with 507; merging into an existing one is not', async () => {
    const s = await server({ AUTH_SECRET: S0, MAX_REVOCATIONS: '2' })
    const a = await admin()
    expect((await revoke(s.url, a, { jti: 'one' })).status).toBe(200)
    expect((await revoke(s.url, a, { sub: 'two' })).status).toBe(200)
    const full = await revoke(s.url, a, { jti: 'three' })
    expect(full).toMatchObject({ status: 507, json: { error: 'revocation-list-full' } })
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc', await hsToken(S0, { claims: { jti: 'three' } })))).toBe(101)
    // The same names again: merged (later exp, later before), not new.
    expect((await revoke(s.url, a, { jti: 'one', exp: nowS() + 30 * 86400 })).status).toBe(200)
    expect((await revoke(s.url, a, { sub: 'two', before: nowS() + 60 })).status).toBe(200)
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc', await hsToken(S0, { claims: { sub: 'two', iat: nowS() + 30 } })))).toBe(401)
  })

  it('an entry is dropped once every token it could match has expired (its exp), freeing its place', async () => {
    const s = await server({ AUTH_SECRET: S0, MAX_REVOCATIONS: '1' })
    const a = await admin()
    const exp = (Date.now() + 700) / 1000
    const short = await hsToken(S0, { claims: { jti: 'short', exp } })
    expect((await revoke(s.url, a, { jti: 'short', exp })).status).toBe(200)
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc', short))).toBe(401)
    expect(await metric(s, 'tandem_rejected_upgrades_total', 'token-revoked')).toBe(1)
    expect((await revoke(s.url, a, { jti: 'next' })).status).toBe(507)
    // Once exp passes the token is refused as expired anyway, and the entry's place is free.
    await until(async () => (await revoke(s.url, a, { jti: 'next' })).status === 200, 'the expired entry to be dropped')
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc', short))).toBe(401)
    expect(await metric(s, 'tandem_rejected_upgrades_total', 'token-expired')).toBe(1)
  })
})
