import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { SyncProvider } from '@tandem/sync/provider'
import { startServer, type RunningServer } from '../helpers/server.js'
import { metric } from '../helpers/metrics.js'
import { upgradeStatus } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { SECRET, get, noneToken, rs256Token, spawnMain, token, withToken } from '../helpers/auth.js'

/**
 * docs/security.md: token via ?token= (or Authorization: Bearer on /api); HS256 with AUTH_SECRET;
 * claims sub, room ("*" = all), access, exp. Missing/invalid/expired/wrong-algorithm → 401;
 * another room or a foreign Origin → 403; the WebSocket never opens. No AUTH_SECRET = open.
 */
const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

async function server(env: Record<string, string> = {}): Promise<RunningServer> {
  const s = await startServer(env)
  cleanup.push(() => s.close())
  return s
}

const now = () => Math.floor(Date.now() / 1000)

describe('WebSocket upgrade with AUTH_SECRET set', () => {
  // Each case: a token (or none) and the status the upgrade must get. 101 = the socket opened.
  const cases: Array<[string, () => Promise<string | undefined> | string | undefined, number, string?]> = [
    ['no token', () => undefined, 401, 'token-missing'],
    ['an empty token', () => '', 401, 'token-invalid'],
    ['garbage', () => 'not.a.jwt', 401, 'token-invalid'],
    ['a bad signature (another secret)', () => token({}, { secret: 'another-secret-0123456789abcdef-0123456789' }), 401, 'token-invalid'],
    ['a tampered payload', async () => {
      const [h, , sig] = (await token({ access: 'read' })).split('.')
      const forged = Buffer.from(JSON.stringify({ sub: 'alice', room: 'doc', access: 'write', exp: now() + 3600 })).toString('base64url')
      return `${h}.${forged}.${sig}`
    }, 401, 'token-invalid'],
    ['an expired token', () => token({ exp: now() - 60 }), 401, 'token-expired'],
    ['alg "none"', () => noneToken(), 401, 'token-algorithm'],
    ['RS256 (a key the server never saw)', () => rs256Token(), 401, 'token-algorithm'],
    ['HS512 with the right secret (algorithm pinned to HS256)', () => token({}, { alg: 'HS512' }), 401, 'token-algorithm'],
    ['no exp claim (no eternal tokens)', () => token({ exp: null }), 401, 'token-claims'],
    ['no room claim', () => token({ room: undefined }), 401, 'token-claims'],
    ['access "admin"', () => token({ access: 'admin' }), 401, 'token-claims'],
    ['a not-yet-valid token (nbf in the future)', () => token({ nbf: now() + 3600 }), 401, 'token-claims'],
    ['a token for another room', () => token({ room: 'other' }), 403, 'wrong-room'],
    ['a valid write token', () => token(), 101],
    ['a valid read token', () => token({ access: 'read' }), 101],
    ['a token for every room ("*")', () => token({ room: '*' }), 101],
  ]

  it.each(cases.map(([name, make, status, reason]) => ({ name, make, status, reason })))('$name → $status', async ({ make, status, reason }) => {
    const s = await server({ AUTH_SECRET: SECRET })
    const t = await make()
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc', t))).toBe(status)
    if (status === 101) return
    // Refused BEFORE the socket opened: no connection, and the room was never even loaded.
    expect(s.server.connectionCount).toBe(0)
    expect(s.server.registry.size).toBe(0)
    if (reason) expect(await metric(s, 'tandem_rejected_upgrades_total', reason)).toBe(1)
  })

  it('two ?token= parameters are refused (which one would each proxy and log filter pick?)', async () => {
    const s = await server({ AUTH_SECRET: SECRET })
    const good = await token()
    expect(await upgradeStatus(`${s.wsUrl}/doc?token=${good}&token=${good}`)).toBe(401)
  })

  it('room names are compared after percent-decoding, exactly', async () => {
    const s = await server({ AUTH_SECRET: SECRET })
    const t = await token({ room: 'team/notes é' })
    expect(await upgradeStatus(withToken(s.wsUrl, 'team/notes é', t))).toBe(101)
    expect(await upgradeStatus(withToken(s.wsUrl, 'team/notes e', t))).toBe(403)
    expect(await upgradeStatus(withToken(s.wsUrl, 'Team/notes é', t))).toBe(403)
  })

  it('a refused client learns the status; an accepted one syncs with SyncProvider and the token option', async () => {
    const s = await server({ AUTH_SECRET: SECRET })
    const a = new SyncProvider({ url: s.wsUrl, room: 'doc', doc: new Y.Doc(), WebSocket, token: await token() })
    const b = new SyncProvider({ url: s.wsUrl, room: 'doc', doc: new Y.Doc(), WebSocket, token: () => token() })
    cleanup.push(() => a.destroy(), () => b.destroy())
    await until(() => a.synced && b.synced, 'both synced')
    a.doc.getText('t').insert(0, 'authorised edit')
    await until(() => b.doc.getText('t').toString() === 'authorised edit', 'edit relayed')
  })
})

describe('Origin allow-list (ALLOWED_ORIGINS)', () => {
  it('refuses a foreign Origin with 403 even with a valid token; allows listed ones and non-browser clients', async () => {
    const s = await server({ AUTH_SECRET: SECRET, ALLOWED_ORIGINS: 'https://docs.example.com, http://localhost:5173' })
    const t = await token()
    const url = withToken(s.wsUrl, 'doc', t)
    expect(await upgradeStatus(url, { origin: 'https://evil.example' })).toBe(403)
    // Same host, other scheme or port: a different origin.
    expect(await upgradeStatus(url, { origin: 'http://docs.example.com' })).toBe(403)
    expect(await upgradeStatus(url, { origin: 'https://docs.example.com:8443' })).toBe(403)
    // Sandboxed iframes and file:// pages send "null": a browser hiding where it comes from.
    expect(await upgradeStatus(url, { origin: 'null' })).toBe(403)
    expect(await metric(s, 'tandem_rejected_upgrades_total', 'origin-not-allowed')).toBe(4)
    expect(await upgradeStatus(url, { origin: 'https://docs.example.com' })).toBe(101)
    expect(await upgradeStatus(url, { origin: 'HTTPS://DOCS.EXAMPLE.COM' })).toBe(101)
    expect(await upgradeStatus(url, { origin: 'http://localhost:5173' })).toBe(101)
    // No Origin header: not a browser page, so not cross-site hijacking; the token still applies.
    expect(await upgradeStatus(url)).toBe(101)
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc'))).toBe(401)
  })

  it('the Origin check also guards an open server (no AUTH_SECRET)', async () => {
    const s = await server({ ALLOWED_ORIGINS: 'https://docs.example.com' })
    expect(await upgradeStatus(`${s.wsUrl}/doc`, { origin: 'https://evil.example' })).toBe(403)
    expect(await upgradeStatus(`${s.wsUrl}/doc`, { origin: 'https://docs.example.com' })).toBe(101)
  })

  it('unset = any Origin', async () => {
    const s = await server({ AUTH_SECRET: SECRET })
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc', await token()), { origin: 'https://anything.example' })).toBe(101)
  })
})

describe('open server (AUTH_SECRET unset)', () => {
  it('everyone connects without a token and writes; a token, if sent, is ignored', async () => {
    const s = await server()
    expect(await upgradeStatus(`${s.wsUrl}/doc`)).toBe(101)
    const a = new SyncProvider({ url: s.wsUrl, room: 'doc', doc: new Y.Doc(), WebSocket })
    // A read token means nothing without a secret to check it against: still a writer.
    const b = new SyncProvider({ url: s.wsUrl, room: 'doc', doc: new Y.Doc(), WebSocket, token: noneToken({ access: 'read' }) })
    cleanup.push(() => a.destroy(), () => b.destroy())
    await until(() => a.synced && b.synced, 'both synced')
    b.doc.getText('t').insert(0, 'anyone writes')
    await until(() => a.doc.getText('t').toString() === 'anyone writes', 'edit relayed')
  })
})

describe('GET /api/rooms/<room>/state: the same rules', () => {
  it('401 without or with a bad token, 403 for another room or Origin, 200 with ?token= or Bearer (read or write)', async () => {
    const s = await server({ AUTH_SECRET: SECRET, ALLOWED_ORIGINS: 'https://docs.example.com' })
    const writer = new SyncProvider({ url: s.wsUrl, room: 'doc', doc: new Y.Doc(), WebSocket, token: await token() })
    cleanup.push(() => writer.destroy())
    await until(() => writer.synced, 'writer synced')
    writer.doc.getText('t').insert(0, 'state via api')
    const api = `${s.url}/api/rooms/doc/state`
    const read = await token({ access: 'read' })

    expect((await get(api)).status).toBe(401)
    expect((await get(`${api}?token=garbage`)).status).toBe(401)
    expect((await get(api, { Authorization: `Bearer ${await token({ exp: now() - 5 })}` })).status).toBe(401)
    expect((await get(api, { Authorization: `Bearer ${noneToken()}` })).status).toBe(401)
    expect((await get(api, { Authorization: `Bearer ${await rs256Token()}` })).status).toBe(401)
    expect((await get(api, { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` })).status).toBe(401)
    expect((await get(api, { Authorization: `Bearer ${await token({ room: 'other' })}` })).status).toBe(403)
    expect((await get(api, { Authorization: `Bearer ${read}`, Origin: 'https://evil.example' })).status).toBe(403)

    const viaQuery = await get(`${api}?token=${read}`)
    const viaBearer = await get(api, { Authorization: `Bearer ${await token()}`, Origin: 'https://docs.example.com' })
    expect(viaQuery.status).toBe(200)
    expect(viaBearer.status).toBe(200)
    const doc = new Y.Doc()
    await until(async () => {
      const r = await get(api, { Authorization: `Bearer ${read}` })
      Y.applyUpdate(doc, r.body)
      return doc.getText('t').toString() === 'state via api'
    }, 'state endpoint has the edit')
    expect(await metric(s, 'tandem_rejected_requests_total', 'token-missing')).toBe(1)
    expect(await metric(s, 'tandem_rejected_requests_total', 'wrong-room')).toBe(1)
    expect(await metric(s, 'tandem_rejected_requests_total', 'origin-not-allowed')).toBe(1)
  })
})

describe('the room name "*" (the token claim\'s wildcard)', () => {
  it('is refused with 400 at the upgrade and on /api, encoded or not; a token for "*" still opens every other room', async () => {
    const s = await server({ AUTH_SECRET: SECRET })
    const all = await token({ room: '*' })
    // A backend minting a token for a user-chosen room called "*" would mint an all-rooms token:
    // the name itself is refused, before the token is even looked at.
    for (const path of ['*', '%2A', '%2a']) {
      expect(await upgradeStatus(`${s.wsUrl}/${path}?token=${all}`), path).toBe(400)
      expect(await upgradeStatus(`${s.wsUrl}/${path}`), `${path} without a token`).toBe(400)
      expect((await get(`${s.url}/api/rooms/${path}/state`, { Authorization: `Bearer ${all}` })).status, `/api ${path}`).toBe(400)
    }
    expect(await metric(s, 'tandem_rejected_upgrades_total', 'room-reserved')).toBe(6)
    expect(s.server.registry.size).toBe(0)
    // Only the bare "*" is reserved: names containing it are rooms like any other, and the
    // wildcard token opens them all (and a token for one of them opens only that one).
    for (const room of ['doc', '**', 'a*', ' *', 'team/*']) {
      expect(await upgradeStatus(withToken(s.wsUrl, room, all)), room).toBe(101)
    }
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc', await token({ room: '**' })))).toBe(403)
    expect((await get(`${s.url}/api/rooms/doc/state`, { Authorization: `Bearer ${all}` })).status).toBe(200)
    // The client checks names with the same function: it never even tries.
    expect(() => new SyncProvider({ url: s.wsUrl, room: '*', doc: new Y.Doc(), WebSocket })).toThrow(/every room/)
  })

  it('is refused on an open server too (no room "*" exists to be exposed when AUTH_SECRET is turned on later)', async () => {
    const s = await server()
    expect(await upgradeStatus(`${s.wsUrl}/%2A`)).toBe(400)
    expect((await get(`${s.url}/api/rooms/*/state`)).status).toBe(400)
    expect(s.server.registry.size).toBe(0)
  })
})

describe('the composition root (src/main.ts as a process)', () => {
  it('enforces AUTH_SECRET from the environment and never logs a token', async () => {
    const dataDir = (await import('../helpers/server.js')).tempDir()
    const srv = await spawnMain({ AUTH_SECRET: SECRET, DATA_DIR: dataDir, LOG_LEVEL: 'trace' })
    cleanup.push(() => srv.stop())
    const ws = srv.url.replace(/^http/, 'ws')
    const good = await token()
    const expired = await token({ exp: now() - 60 })
    const forged = noneToken()
    const other = await token({ room: 'other' })
    expect(await upgradeStatus(withToken(ws, 'doc'))).toBe(401)
    expect(await upgradeStatus(withToken(ws, 'doc', expired))).toBe(401)
    expect(await upgradeStatus(withToken(ws, 'doc', forged))).toBe(401)
    expect(await upgradeStatus(withToken(ws, 'doc', other))).toBe(403)
    expect(await upgradeStatus(withToken(ws, 'doc', good))).toBe(101)
    expect((await get(`${srv.url}/api/rooms/doc/state`, { Authorization: `Bearer ${good}` })).status).toBe(200)
    expect((await get(`${srv.url}/api/rooms/doc/state?token=${expired}`)).status).toBe(401)
    await srv.stop()
    const logs = srv.stderr()
    expect(logs).toContain('"msg":"ready"')
    for (const t of [good, expired, forged, other]) {
      // Not the token, and not its signature alone either.
      expect(logs).not.toContain(t)
      expect(logs).not.toContain(t.split('.')[2] || t.split('.')[1])
    }
  })
})
