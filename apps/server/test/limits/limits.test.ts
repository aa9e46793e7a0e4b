import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import * as awarenessProtocol from 'y-protocols/awareness'
import { writeAwareness, writeQueryAwareness } from '@tandem/sync'
import { SyncProvider } from '@tandem/sync/provider'
import { startServer, type RunningServer } from '../helpers/server.js'
import { metric } from '../helpers/metrics.js'
import { closeOf, upgradeStatus } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { recordingSocket } from '../helpers/auth.js'

/**
 * Limits a hostile client cannot get around (docs/security.md): per-connection message and
 * byte rates (token buckets → close 1008 with a reason, only the abuser), connections per
 * address, per room, rooms per server (HTTP 429/503 before the socket opens), awareness
 * entry size. Every refusal is counted in /metrics by reason.
 */
const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

async function server(env: Record<string, string>): Promise<RunningServer> {
  const s = await startServer(env)
  cleanup.push(() => s.close())
  return s
}

function peer(s: RunningServer, room: string) {
  const p = new SyncProvider({ url: s.wsUrl, room, doc: new Y.Doc(), WebSocket })
  cleanup.push(() => p.destroy())
  return p
}

/** Two well-behaved peers, synced; then proves they still exchange edits. */
async function twoPeers(s: RunningServer, room: string) {
  const a = peer(s, room)
  const b = peer(s, room)
  await until(() => a.synced && b.synced, 'peers synced')
  let n = 0
  return {
    a,
    b,
    async stillSyncing() {
      const word = `edit${++n} `
      a.doc.getText('t').insert(0, word)
      await until(() => b.doc.getText('t').toString().startsWith(word), `"${word}" relayed a → b`)
      b.doc.getText('t').insert(0, word.toUpperCase())
      await until(() => a.doc.getText('t').toString().startsWith(word.toUpperCase()), `"${word}" relayed b → a`)
    },
  }
}

function awarenessFrame(state: Record<string, unknown>): Uint8Array {
  const aw = new awarenessProtocol.Awareness(new Y.Doc())
  aw.setLocalState(state)
  const frame = writeAwareness(awarenessProtocol.encodeAwarenessUpdate(aw, [aw.clientID]))
  aw.destroy()
  return frame
}

describe('per-connection rate limits', () => {
  it('a message flood closes the flooder with 1008 "rate-limit-messages"; others in the room keep syncing', async () => {
    const s = await server({ RATE_LIMIT_MESSAGES_PER_SEC: '20', RATE_LIMIT_MESSAGE_BURST: '40' })
    const peers = await twoPeers(s, 'room')
    const abuser = await recordingSocket(`${s.wsUrl}/room`)
    const closed = closeOf(abuser.ws)
    const frame = writeQueryAwareness()
    for (let i = 0; i < 500; i++) abuser.ws.send(frame)
    expect(await closed).toEqual({ code: 1008, reason: 'rate-limit-messages' })
    // It answered at most the burst (plus a refill of a few ms) before closing.
    expect(abuser.frames.length).toBeLessThan(100)
    await peers.stillSyncing()
    await peers.stillSyncing()
    expect(peers.a.status).toBe('connected')
    expect(await metric(s, 'tandem_rejected_frames_total', 'rate-limit-messages')).toBe(1)
  })

  it('a byte flood closes the flooder with 1008 "rate-limit-bytes"; others keep syncing', async () => {
    const s = await server({ MAX_PAYLOAD_BYTES: '8192', RATE_LIMIT_BYTES_PER_SEC: '1024', RATE_LIMIT_BYTE_BURST: '8192' })
    const peers = await twoPeers(s, 'room')
    const abuser = await recordingSocket(`${s.wsUrl}/room`)
    const closed = closeOf(abuser.ws)
    // Valid 3 KB presence updates, well under every per-frame limit: only their rate is wrong.
    for (let i = 0; i < 10; i++) abuser.ws.send(awarenessFrame({ user: { name: 'x'.repeat(3000), i } }))
    expect(await closed).toEqual({ code: 1008, reason: 'rate-limit-bytes' })
    await peers.stillSyncing()
    expect(await metric(s, 'tandem_rejected_frames_total', 'rate-limit-bytes')).toBe(1)
  })

  it('the byte burst admits one frame of MAX_PAYLOAD_BYTES (a big first sync is legal)', async () => {
    const s = await server({ MAX_PAYLOAD_BYTES: '65536', RATE_LIMIT_BYTES_PER_SEC: '1024' })
    const peers = await twoPeers(s, 'room')
    const big = new Y.Doc()
    big.getText('t').insert(0, 'y'.repeat(60_000))
    const p = new SyncProvider({ url: s.wsUrl, room: 'room', doc: big, WebSocket })
    cleanup.push(() => p.destroy())
    await until(() => peers.a.doc.getText('t').length >= 60_000, 'the 60 KB document relayed')
    expect(p.status).toBe('connected')
  })

  it('a client that stays under the limit is never closed', async () => {
    const s = await server({ RATE_LIMIT_MESSAGES_PER_SEC: '50', RATE_LIMIT_MESSAGE_BURST: '20' })
    const peers = await twoPeers(s, 'room')
    // 10 rounds × 2 edits each side, paced by the round trips: far below 50/s sustained.
    for (let i = 0; i < 5; i++) await peers.stillSyncing()
    expect(await metric(s, 'tandem_rejected_frames_total', 'rate-limit-messages')).toBe(0)
  })
})

describe('awareness state size (MAX_AWARENESS_BYTES)', () => {
  it('an oversized presence state closes its sender with 1008; others are unaffected', async () => {
    const s = await server({ MAX_AWARENESS_BYTES: '1024' })
    const peers = await twoPeers(s, 'room')
    const abuser = await recordingSocket(`${s.wsUrl}/room`)
    const closed = closeOf(abuser.ws)
    abuser.ws.send(awarenessFrame({ user: { name: 'z'.repeat(5000) } }))
    expect((await closed).code).toBe(1008)
    await peers.stillSyncing()
    for (const p of [peers.a, peers.b]) {
      for (const st of p.awareness.getStates().values()) expect(JSON.stringify(st).length).toBeLessThan(1024)
    }
    expect(await metric(s, 'tandem_rejected_frames_total', 'awareness-too-large')).toBe(1)
  })
})

describe('upgrade-time limits (refused with an HTTP status before the socket opens)', () => {
  it('MAX_CONNECTIONS_PER_IP: the next connection from that address gets 429; a closed one frees its slot', async () => {
    const s = await server({ MAX_CONNECTIONS_PER_IP: '2' })
    const a = await recordingSocket(`${s.wsUrl}/r1`)
    const b = await recordingSocket(`${s.wsUrl}/r2`)
    cleanup.push(() => a.ws.terminate(), () => b.ws.terminate())
    expect(await upgradeStatus(`${s.wsUrl}/r3`)).toBe(429)
    expect(await upgradeStatus(`${s.wsUrl}/r1`)).toBe(429)
    expect(s.server.connectionCount).toBe(2)
    expect(s.server.registry.rooms().map((r) => r.name).sort()).toEqual(['r1', 'r2'])
    // X-Forwarded-For is ignored without TRUST_PROXY: a client cannot pick its own address.
    expect(await upgradeStatus(`${s.wsUrl}/r3`, { headers: { 'X-Forwarded-For': '203.0.113.9' } })).toBe(429)
    expect(await metric(s, 'tandem_rejected_upgrades_total', 'too-many-connections-ip')).toBe(3)
    a.ws.close()
    await until(async () => (await upgradeStatus(`${s.wsUrl}/r3`)) === 101, 'slot freed after close')
  })

  it('TRUST_PROXY=1 keys on the address the proxy appended (the rightmost), not on what the client wrote', async () => {
    const s = await server({ MAX_CONNECTIONS_PER_IP: '1', TRUST_PROXY: '1' })
    const via = (chain: string) => ({ headers: { 'X-Forwarded-For': chain } })
    const first = new WebSocket(`${s.wsUrl}/r`, via('198.51.100.7'))
    cleanup.push(() => first.terminate())
    await new Promise((resolve, reject) => first.once('open', resolve).once('error', reject))
    // Same client address, with a forged entry in front: still that client.
    expect(await upgradeStatus(`${s.wsUrl}/r`, via('203.0.113.1, 198.51.100.7'))).toBe(429)
    // Another client behind the same proxy (same socket address): its own slot.
    expect(await upgradeStatus(`${s.wsUrl}/r`, via('198.51.100.8'))).toBe(101)
    // IPv6 clients are grouped per /64.
    const v6 = new WebSocket(`${s.wsUrl}/r`, via('2001:db8:1:2::10'))
    cleanup.push(() => v6.terminate())
    await new Promise((resolve, reject) => v6.once('open', resolve).once('error', reject))
    expect(await upgradeStatus(`${s.wsUrl}/r`, via('2001:db8:1:2:ffff::99'))).toBe(429)
    expect(await upgradeStatus(`${s.wsUrl}/r`, via('2001:db8:1:3::10'))).toBe(101)
  })

  it('MAX_CONNECTIONS_PER_ROOM: 503 "room-full" for that room only; the members keep syncing', async () => {
    const s = await server({ MAX_CONNECTIONS_PER_ROOM: '2' })
    const peers = await twoPeers(s, 'full')
    expect(await upgradeStatus(`${s.wsUrl}/full`)).toBe(503)
    expect(await upgradeStatus(`${s.wsUrl}/other`)).toBe(101)
    expect(await metric(s, 'tandem_rejected_upgrades_total', 'room-full')).toBe(1)
    await peers.stillSyncing()
  })

  it('MAX_ROOMS: a new room beyond the limit gets 503 "too-many-rooms" and is never loaded; existing rooms still admit', async () => {
    const s = await server({ MAX_ROOMS: '2' })
    const a = await recordingSocket(`${s.wsUrl}/a`)
    const b = await recordingSocket(`${s.wsUrl}/b`)
    cleanup.push(() => a.ws.terminate(), () => b.ws.terminate())
    expect(await upgradeStatus(`${s.wsUrl}/c`)).toBe(503)
    expect(s.server.registry.rooms().map((r) => r.name).sort()).toEqual(['a', 'b'])
    expect(await upgradeStatus(`${s.wsUrl}/a`)).toBe(101)
    expect(await metric(s, 'tandem_rejected_upgrades_total', 'too-many-rooms')).toBe(1)
    b.ws.close()
    await until(async () => (await upgradeStatus(`${s.wsUrl}/c`)) === 101, 'room c admitted once b is empty')
  })

  it('concurrent upgrades cannot overshoot a limit while their room loads', async () => {
    const s = await server({ MAX_CONNECTIONS_PER_ROOM: '3', MAX_CONNECTIONS_PER_IP: '0' })
    // Sockets that stay open (upgradeStatus would close them and free their slots mid-race).
    const attempt = () =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${s.wsUrl}/race`)
        cleanup.push(() => ws.terminate())
        ws.once('open', () => resolve(101))
        ws.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0)
          res.resume()
        })
        ws.once('error', (err) => {
          if (!/Unexpected server response/.test(err.message)) reject(err)
        })
      })
    const statuses = await Promise.all(Array.from({ length: 12 }, attempt))
    expect(statuses.filter((x) => x === 101)).toHaveLength(3)
    expect(statuses.filter((x) => x === 503)).toHaveLength(9)
  })
})
