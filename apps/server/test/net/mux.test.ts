import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket, { WebSocketServer } from 'ws'
import {
  MUX_PROTOCOL,
  muxPrefix,
  readFrame,
  readMuxControl,
  readMuxHeader,
  writeAwareness,
  writeAwarenessUpdate,
  writeMuxClosed,
  writeMuxOpen,
  writeSyncStep1,
  writeSyncUpdate,
  type Frame,
  type MuxControl,
} from '@tandem/sync'
import { startServer, type RunningServer } from '../helpers/server.js'
import { closeOf, synced, text, upgradeStatus, yws } from '../helpers/clients.js'
import { SECRET, token } from '../helpers/auth.js'
import { until } from '../helpers/wait.js'
import { wsDeflateOptions, negotiatedDeflate } from '../../src/net/compression.js'
import { sendPrefixed, sharedFrame } from '../../src/net/ws-frame.js'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

/** A raw multiplexed client: what arrives, per channel, decoded. */
async function muxClient(s: RunningServer, options: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(`${s.wsUrl}/`, MUX_PROTOCOL, options)
  cleanup.push(() => ws.terminate())
  const controls: MuxControl[] = []
  const frames = new Map<number, Frame[]>()
  ws.on('message', (data: Buffer) => {
    const { channel, offset } = readMuxHeader(data)
    if (channel === 0) controls.push(readMuxControl(data, offset))
    else {
      const list = frames.get(channel) ?? []
      list.push(readFrame(new Uint8Array(data.subarray(offset))))
      frames.set(channel, list)
    }
  })
  await new Promise((r, j) => {
    ws.once('open', r)
    ws.once('error', j)
  })
  expect(ws.protocol).toBe(MUX_PROTOCOL)
  const on = (channel: number) => frames.get(channel) ?? []
  const send = (channel: number, frame: Uint8Array) => {
    const prefix = muxPrefix(channel)
    const out = new Uint8Array(prefix.length + frame.length)
    out.set(prefix)
    out.set(frame, prefix.length)
    ws.send(out)
  }
  const control = (channel: number) => until(() => controls.find((c) => c.op !== 'keepalive' && c.channel === channel), `a control message for channel ${channel}`)
  /** Opens `room` on `channel` and waits for the answer (Opened or Closed). */
  const open = async (channel: number, room: string, tok = '') => {
    ws.send(writeMuxOpen(channel, room, tok))
    return control(channel)
  }
  /** A Y.Doc kept in sync with what arrives on `channel` (updates and step 2s applied). */
  const docOf = (channel: number) => {
    const doc = new Y.Doc()
    let applied = 0
    const pump = () => {
      const list = on(channel)
      for (; applied < list.length; applied++) {
        const f = list[applied]!
        if (f.type === 'sync-step2' || f.type === 'sync-update') Y.applyUpdate(doc, f.update)
      }
    }
    return { doc, text: () => (pump(), doc.getText('t').toString()) }
  }
  return { ws, controls, on, send, open, control, docOf }
}

const saved = (frames: Frame[]) => frames.filter((f): f is Extract<Frame, { type: 'saved' }> => f.type === 'saved').map((f) => f.count)

function updateFor(content: string, clientID: number): Uint8Array {
  const doc = new Y.Doc()
  doc.clientID = clientID
  doc.getText('t').insert(0, content)
  return Y.encodeStateAsUpdate(doc)
}

describe('many rooms over one connection (tandem-mux-v1)', () => {
  it('one socket carries two rooms, each in sync with the stock clients of its room, with saved acknowledgements per room', async () => {
    const s = await startServer()
    cleanup.push(() => s.close())
    const a = yws(s.wsUrl, 'room-a')
    const b = yws(s.wsUrl, 'room-b')
    cleanup.push(a.destroy, b.destroy)
    await Promise.all([synced(a.provider), synced(b.provider)])
    a.doc.getText('t').insert(0, 'in A')
    b.doc.getText('t').insert(0, 'in B')

    const m = await muxClient(s)
    expect(await m.open(1, 'room-a')).toEqual({ op: 'opened', channel: 1, access: 'write' })
    expect(await m.open(2, 'room-b')).toEqual({ op: 'opened', channel: 2, access: 'write' })
    const docA = m.docOf(1)
    const docB = m.docOf(2)
    m.send(1, writeSyncStep1(new Y.Doc()))
    m.send(2, writeSyncStep1(new Y.Doc()))
    await until(() => docA.text() === 'in A' && docB.text() === 'in B', 'each room on its channel')
    expect(m.on(1)[0]).toEqual({ type: 'saved', count: 0 }) // the hello, first on each write channel

    // An edit on channel 2 reaches room B's stock client only, and is acknowledged on channel 2.
    m.send(2, writeSyncUpdate(updateFor('mux wrote ', 99)))
    await until(() => text(b.doc).includes('mux wrote'), 'the edit in room B')
    await until(() => saved(m.on(2)).includes(1), 'Saved(1) on channel 2')
    expect(saved(m.on(1))).toEqual([0])
    expect(text(a.doc)).toBe('in A')
    // And the stock clients' edits reach the channels.
    a.doc.getText('t').insert(4, '!')
    await until(() => docA.text() === 'in A!', 'a broadcast on channel 1')
    expect(s.server.connectionCount).toBe(3)
  })

  it('auth per room: a token per room, wrong room 403, none 401, a read token opens read-only (a write there closes that room only)', async () => {
    const s = await startServer({ AUTH_SECRET: SECRET })
    cleanup.push(() => s.close())
    const m = await muxClient(s)
    expect(await m.open(1, 'doc', await token({ room: 'doc' }))).toEqual({ op: 'opened', channel: 1, access: 'write' })
    expect(await m.open(2, 'other', await token({ room: 'doc' }))).toEqual({ op: 'closed', channel: 2, code: 403, reason: 'wrong-room' })
    expect(await m.open(3, 'other')).toEqual({ op: 'closed', channel: 3, code: 401, reason: 'token-missing' })
    expect(await m.open(4, 'other', 'not.a.jwt')).toMatchObject({ op: 'closed', channel: 4, code: 401 })
    expect(await m.open(5, 'other', await token({ room: 'other', access: 'read' }))).toEqual({ op: 'opened', channel: 5, access: 'read' })
    expect(await m.open(6, 'any', await token({ room: '*', access: 'write' }))).toEqual({ op: 'opened', channel: 6, access: 'write' })
    // Read-only: a warning first (auth-denied on that channel), then the room is closed with 1008.
    m.send(5, writeSyncUpdate(updateFor('nope', 7)))
    await until(() => m.on(5).some((f) => f.type === 'auth-denied'), 'the read-only warning')
    m.controls.length = 0
    m.send(5, writeSyncUpdate(updateFor('nope again', 7)))
    expect(await m.control(5)).toEqual({ op: 'closed', channel: 5, code: 1008, reason: 'read-only' })
    // The other rooms of the socket go on.
    m.send(1, writeSyncUpdate(updateFor('still writing', 8)))
    await until(() => saved(m.on(1)).includes(1), 'Saved(1) on channel 1')
    expect(m.ws.readyState).toBe(WebSocket.OPEN)
  })

  it('closing one room leaves the others open; presence is per room and leaves with its room', async () => {
    const s = await startServer()
    cleanup.push(() => s.close())
    const watcher = yws(s.wsUrl, 'p1')
    cleanup.push(watcher.destroy)
    await synced(watcher.provider)
    const m = await muxClient(s)
    await m.open(1, 'p1')
    await m.open(2, 'p2')
    const state = new TextEncoder().encode(JSON.stringify({ user: { name: 'Mux' } }))
    m.send(1, writeAwareness(writeAwarenessUpdate([{ clientID: 4242, clock: 1, state }])))
    await until(() => watcher.provider.awareness.getStates().get(4242), "the channel's presence in room p1")
    m.controls.length = 0
    m.ws.send(writeMuxClosed(1, 1000, ''))
    expect(await m.control(1)).toEqual({ op: 'closed', channel: 1, code: 1000, reason: '' })
    await until(() => !watcher.provider.awareness.getStates().has(4242), 'the presence removed with its room')
    // Channel 2 still works; channel 1 may be used again.
    m.send(2, writeSyncUpdate(updateFor('two', 9)))
    await until(() => saved(m.on(2)).includes(1), 'Saved(1) on channel 2')
    m.controls.length = 0
    expect(await m.open(1, 'p3')).toEqual({ op: 'opened', channel: 1, access: 'write' })
  })

  it('bad input: a bad update closes its room only (1007); a broken envelope or a reused channel closes the socket; rooms per socket are bounded', async () => {
    const s = await startServer()
    cleanup.push(() => s.close())
    const m = await muxClient(s)
    await m.open(1, 'h1')
    await m.open(2, 'h2')
    m.controls.length = 0
    m.send(1, new Uint8Array([0, 2, 3, 1, 2])) // a sync update whose Yjs bytes are garbage
    expect(await m.control(1)).toMatchObject({ op: 'closed', channel: 1, code: 1007 })
    m.send(2, writeSyncUpdate(updateFor('fine', 10)))
    await until(() => saved(m.on(2)).includes(1), 'the other room still acknowledges')
    // Frames for a channel that is not open are dropped, not fatal.
    m.send(7, writeSyncUpdate(updateFor('nowhere', 11)))
    // At most 64 rooms per socket (channel 1 was closed: 2 and 3…65 are the 64).
    for (let ch = 3; ch <= 65; ch++) m.ws.send(writeMuxOpen(ch, `h${ch}`, ''))
    expect(await m.open(66, 'one-too-many')).toEqual({ op: 'closed', channel: 66, code: 429, reason: 'too-many-channels' })
    // Opening a channel that is in use breaks the envelope: the socket closes.
    const closed = closeOf(m.ws)
    m.ws.send(writeMuxOpen(2, 'again', ''))
    expect((await closed).code).toBe(1007)

    const n = await muxClient(s)
    const closedToo = closeOf(n.ws)
    n.ws.send(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])) // a channel number past 53 bits
    expect((await closedToo).code).toBe(1007)
    await until(() => s.server.connectionCount === 0, 'both sockets gone')
  })

  it("a room's token expiring closes that room with 4001, not the socket; a socket that holds no room is closed after two pings", async () => {
    const s = await startServer({ AUTH_SECRET: SECRET, PING_INTERVAL_MS: '300' })
    cleanup.push(() => s.close())
    const m = await muxClient(s)
    await m.open(1, 'short', await token({ room: 'short', exp: Date.now() / 1000 + 1 }))
    await m.open(2, 'long', await token({ room: 'long' }))
    m.controls.length = 0
    expect(await m.control(1)).toEqual({ op: 'closed', channel: 1, code: 4001, reason: 'token expired' })
    m.send(2, writeSyncUpdate(updateFor('later', 12)))
    await until(() => saved(m.on(2)).includes(1), 'the other room goes on')

    const idle = await muxClient(s)
    expect(await closeOf(idle.ws)).toEqual({ code: 1008, reason: 'no rooms open' })
    expect(m.ws.readyState).toBe(WebSocket.OPEN)
  })

  it('stock clients are untouched: `/` without the subprotocol is still refused 400, and a room path with it offered is a one-room socket', async () => {
    const s = await startServer()
    cleanup.push(() => s.close())
    expect(await upgradeStatus(`${s.wsUrl}/`)).toBe(400)
    const ws = new WebSocket(`${s.wsUrl}/plain`, [MUX_PROTOCOL, 'tandem-saved-v1'])
    cleanup.push(() => ws.terminate())
    await new Promise((r) => ws.once('open', r))
    expect(ws.protocol).toBe('tandem-saved-v1')
  })

  it('with WS_COMPRESSION=on, a compressed broadcast reaches a channel intact (its prefix as a stored block before the shared compressed bytes)', async () => {
    const s = await startServer({ WS_COMPRESSION: 'on' })
    cleanup.push(() => s.close())
    const writer = yws(s.wsUrl, 'zip')
    cleanup.push(writer.destroy)
    await synced(writer.provider)
    const m = await muxClient(s)
    await m.open(300, 'zip') // a two-byte channel number
    const doc = m.docOf(300)
    m.send(300, writeSyncStep1(new Y.Doc()))
    const big = 'compressible text '.repeat(5000)
    writer.doc.getText('t').insert(0, big)
    await until(() => doc.text() === big, 'the large update on the channel')
    expect((m.ws as unknown as { _socket: { bytesRead: number } })._socket.bytesRead).toBeLessThan(big.length / 4)
  })
})

describe('sendPrefixed', () => {
  it('differential: ws decodes prefix + message for random prefixes and messages, plain and compressed', async () => {
    const http: Server = createServer()
    const wss = new WebSocketServer({ server: http, perMessageDeflate: wsDeflateOptions(true) })
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
    cleanup.push(() => new Promise((r) => http.close(r)))
    cleanup.push(() => wss.close())
    const clients: Array<{ server: WebSocket; received: Buffer[]; deflate: ReturnType<typeof negotiatedDeflate> }> = []
    for (const options of [{}, { perMessageDeflate: false as const }]) {
      clients.push(
        await (async () => {
        const serverSide = new Promise<WebSocket>((r) => wss.once('connection', r))
        const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`, options)
        cleanup.push(() => client.terminate())
        const received: Buffer[] = []
        client.on('message', (d: Buffer) => received.push(d))
        await new Promise((r) => client.once('open', r))
        const server = await serverSide
        return { server, received, deflate: negotiatedDeflate(server, 0) }
        })(),
      )
    }
    let seed = 12345
    const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
    const expected: Uint8Array[] = []
    for (let i = 0; i < 300; i++) {
      const prefix = muxPrefix(Math.floor(next() * 70_000))
      const n = Math.floor(next() ** 3 * 150_000)
      const compressible = next() < 0.7
      const message = Uint8Array.from({ length: n }, (_, j) => (compressible ? 97 + ((j * 7) % 13) : Math.floor(next() * 256)))
      const frame = sharedFrame(message)
      for (const c of clients) sendPrefixed(c.server, prefix, frame, c.deflate)
      const whole = new Uint8Array(prefix.length + n)
      whole.set(prefix)
      whole.set(message, prefix.length)
      expected.push(whole)
    }
    await until(() => clients.every((c) => c.received.length === expected.length), 'every message', 30_000)
    for (const c of clients) c.received.forEach((got, i) => expect(Buffer.compare(got, Buffer.from(expected[i]!)), `message ${i}`).toBe(0))
  })
})
