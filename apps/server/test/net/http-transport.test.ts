import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { HTTP_TRANSPORT_PATH } from '@tandem/sync'
import { SyncProvider, type CloseInfo } from '@tandem/sync/provider'
import { startServer, type RunningServer } from '../helpers/server.js'
import { synced, text, yws } from '../helpers/clients.js'
import { SECRET, token } from '../helpers/auth.js'
import { until } from '../helpers/wait.js'

/**
 * The HTTP transport (net/http-transport.ts, net/http-socket.ts): Engine.IO long-polling with
 * the guarantees of the WebSocket endpoint. Raw sessions are driven with fetch in Engine.IO's
 * own wire format (v4: `0{…}` open packet, packets separated by \x1e, binary as `b<base64>`).
 */

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

function httpProvider(s: RunningServer, room: string, options: Partial<ConstructorParameters<typeof SyncProvider>[0]> = {}) {
  const doc = new Y.Doc()
  const provider = new SyncProvider({ url: s.wsUrl, room, doc, WebSocket, transport: 'http', ...options })
  cleanup.push(() => provider.destroy())
  return { doc, provider }
}

const handshakeUrl = (s: RunningServer, query: string) => `${s.url}${HTTP_TRANSPORT_PATH}?EIO=4&transport=polling&${query}`

/** Opens a raw Engine.IO session; its sid. */
async function rawSession(s: RunningServer, room: string): Promise<string> {
  const res = await fetch(handshakeUrl(s, `room=${room}`))
  const body = await res.text()
  expect(res.status, body).toBe(200)
  return (JSON.parse(body.slice(1)) as { sid: string }).sid
}

describe('HTTP transport', () => {
  it('a provider over HTTP syncs both ways with a stock y-websocket client, sees its awareness, and gets saved acknowledgements', async () => {
    const s = await startServer()
    cleanup.push(() => s.close())
    const stock = yws(s.wsUrl, 'shared')
    cleanup.push(stock.destroy)
    const { doc, provider } = httpProvider(s, 'shared')
    await Promise.all([synced(stock.provider), synced(provider, 'http provider synced')])
    expect(provider.transport).toBe('http')

    doc.getText('t').insert(0, 'over http;')
    await until(() => text(stock.doc) === 'over http;', 'stock client sees the http edit')
    await until(() => provider.unsavedChanges === 0, 'saved acknowledgement over http')
    stock.doc.getText('t').insert(0, 'ws:')
    await until(() => text(doc) === 'ws:over http;', 'http client sees the ws edit')

    stock.provider.awareness.setLocalStateField('user', { name: 'stock' })
    await until(() => [...provider.awareness.getStates().values()].some((st) => (st as { user?: { name?: string } }).user?.name === 'stock'), 'awareness over http')
  })

  it('refuses a handshake with a plain HTTP status: 401 without a token, 403 for another room or a foreign Origin, 400 for a bad room', async () => {
    const s = await startServer({ AUTH_SECRET: SECRET, ALLOWED_ORIGINS: 'https://good.example' })
    cleanup.push(() => s.close())
    expect((await fetch(handshakeUrl(s, 'room=doc'))).status).toBe(401)
    const other = await token({ room: 'other' })
    expect((await fetch(handshakeUrl(s, `room=doc&token=${other}`))).status).toBe(403)
    const good = await token({ room: 'doc' })
    expect((await fetch(handshakeUrl(s, `room=doc&token=${good}`), { headers: { Origin: 'https://evil.example' } })).status).toBe(403)
    expect((await fetch(handshakeUrl(s, `room=${'x'.repeat(2000)}&token=${good}`))).status).toBe(400)
    const ok = await fetch(handshakeUrl(s, `room=doc&token=${good}`), { headers: { Origin: 'https://good.example' } })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://good.example')
    // Later requests of the session answer only to the Origin that passed the handshake.
    const sid = (JSON.parse((await ok.text()).slice(1)) as { sid: string }).sid
    const poll = (origin: string) => fetch(handshakeUrl(s, `room=doc&token=${good}&sid=${sid}`), { headers: { Origin: origin } })
    const foreign = await poll('https://evil.example')
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull()
    await foreign.text()
    await until(() => s.server.connectionCount === 1, 'the admitted session is a connection')
  })

  it('a read-only token: the first write is refused with the permission-denied message, as on a WebSocket', async () => {
    const s = await startServer({ AUTH_SECRET: SECRET })
    cleanup.push(() => s.close())
    const t = await token({ room: 'doc', access: 'read' })
    const { doc, provider } = httpProvider(s, 'doc', { token: t })
    const reasons: string[] = []
    provider.on('status', (e) => e.reason !== undefined && reasons.push(e.reason))
    await synced(provider)
    doc.getText('t').insert(0, 'not allowed')
    await until(() => reasons.some((r) => r.startsWith('read-only')), 'permission denied over http')
  })

  it('limits handshakes per address like upgrades (429)', async () => {
    const s = await startServer({ RATE_LIMIT_HANDSHAKES_PER_SEC: '1', RATE_LIMIT_HANDSHAKE_BURST: '1' })
    cleanup.push(() => s.close())
    expect((await fetch(handshakeUrl(s, 'room=r'))).status).toBe(200)
    expect((await fetch(handshakeUrl(s, 'room=r'))).status).toBe(429)
  })

  it('a token that expires mid-session ends it with 4001, as on a WebSocket', async () => {
    const s = await startServer({ AUTH_SECRET: SECRET })
    cleanup.push(() => s.close())
    const t = await token({ room: 'doc', exp: Date.now() / 1000 + 1.5 })
    const { provider } = httpProvider(s, 'doc', { token: t })
    const closes: Array<CloseInfo | null> = []
    provider.on('connection-close', (c) => closes.push(c))
    await synced(provider)
    await until(() => closes.some((c) => c?.code === 4001), 'close 4001 over http', 10_000)
  })

  it('a message above MAX_PAYLOAD_BYTES closes the session with 1009; a body above the transport limit is refused (413)', async () => {
    const s = await startServer({ MAX_PAYLOAD_BYTES: '2048' })
    cleanup.push(() => s.close())
    const sid = await rawSession(s, 'big')
    const post = (body: string) => fetch(`${s.url}${HTTP_TRANSPORT_PATH}?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body, headers: { 'Content-Type': 'text/plain;charset=UTF-8' } })
    expect((await post('b' + Buffer.alloc(4096).toString('base64'))).status).toBe(413)
    await post('b' + Buffer.alloc(2049, 1).toString('base64'))
    // The next polls carry the close message before Engine.IO's close packet.
    let seen = ''
    await until(async () => {
      const res = await fetch(`${s.url}${HTTP_TRANSPORT_PATH}?EIO=4&transport=polling&sid=${sid}`)
      seen += await res.text()
      return seen.includes('close 1009 too-big') || res.status !== 200
    }, 'close message 1009')
    expect(seen).toContain('close 1009 too-big')
  })

  it('a poller that stops polling is dropped (liveness), and its queue stays bounded until then (slow consumer, 1013)', async () => {
    const s = await startServer({ PING_INTERVAL_MS: '300', MAX_BUFFERED_BYTES: '65536' })
    cleanup.push(() => s.close())
    await rawSession(s, 'quiet')
    await until(() => s.server.connectionCount === 1, 'session open')
    await until(() => s.server.connectionCount === 0, 'silent poller dropped', 10_000)

    // Liveness would drop this one too, but only after Engine.IO's ping timeout (2 × 1 s here):
    // the flood below passes the buffer bound long before that.
    const slow = await startServer({ PING_INTERVAL_MS: '3000', MAX_BUFFERED_BYTES: '65536' })
    cleanup.push(() => slow.close())
    const writer = yws(slow.wsUrl, 'flood')
    cleanup.push(writer.destroy)
    await synced(writer.provider)
    await rawSession(slow, 'flood') // never polls again
    await until(() => slow.server.connectionCount === 2, 'two connections')
    const before = (await slow.server.metrics.registry.getSingleMetricAsString('tandem_slow_consumer_closes_total')).match(/ (\d+)$/m)?.[1]
    for (let i = 0; i < 40; i++) writer.doc.getText('t').insert(0, 'z'.repeat(4096))
    await until(async () => {
      const after = (await slow.server.metrics.registry.getSingleMetricAsString('tandem_slow_consumer_closes_total')).match(/ (\d+)$/m)?.[1]
      return Number(after) > Number(before ?? 0)
    }, 'slow poller closed with 1013')
    await until(() => slow.server.connectionCount === 1, 'slow poller dropped', 10_000)
  })
})
