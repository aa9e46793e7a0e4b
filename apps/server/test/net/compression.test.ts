import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket, { WebSocketServer } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { loadConfig, ConfigError } from '../../src/config.js'
import { negotiatedDeflate, wsDeflateOptions } from '../../src/net/compression.js'
import { sendShared, sharedFrame, type Deflate } from '../../src/net/ws-frame.js'
import { startServer } from '../helpers/server.js'
import { closeOf, synced, text, yws } from '../helpers/clients.js'
import { metric } from '../helpers/metrics.js'
import { until } from '../helpers/wait.js'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

/** A ws server configured as Tandem's (wsDeflateOptions) and one client; what the client receives, and its socket. */
async function pair(clientOptions: WebSocket.ClientOptions = {}) {
  const http: Server = createServer()
  const wss = new WebSocketServer({ server: http, perMessageDeflate: wsDeflateOptions(true) })
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  cleanup.push(() => new Promise((r) => http.close(r)))
  cleanup.push(() => wss.close())
  const serverSide = new Promise<WebSocket>((r) => wss.once('connection', r))
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`, clientOptions)
  cleanup.push(() => client.terminate())
  const received: Buffer[] = []
  client.on('message', (d: Buffer) => received.push(d))
  let response: IncomingMessage | undefined
  client.once('upgrade', (res) => (response = res))
  await new Promise((resolve, reject) => {
    client.once('open', resolve)
    client.once('error', reject)
  })
  const server = await serverSide
  const bytesRead = () => (client as unknown as { _socket: { bytesRead: number } })._socket.bytesRead
  return { server, client, received, bytesRead, extensions: response?.headers['sec-websocket-extensions'], deflate: negotiatedDeflate(server, 0) }
}

/** Reproducible: a fixed-seed xorshift. */
function rng(seed: number) {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 2 ** 32
  }
}

/** Compressible text, incompressible noise, or a mix, of `n` bytes. */
function randomPayload(next: () => number, n: number): Uint8Array {
  const kind = Math.floor(next() * 3)
  const words = ['tandem ', 'yjs ', 'the ', 'document ', 'caret ', 'merge ']
  const out = new Uint8Array(n)
  for (let i = 0; i < n; ) {
    if (kind === 0 || (kind === 2 && next() < 0.5)) {
      const w = words[Math.floor(next() * words.length)]!
      for (let j = 0; j < w.length && i < n; j++) out[i++] = w.charCodeAt(j)
    } else {
      out[i++] = Math.floor(next() * 256)
    }
  }
  return out
}

const lorem = (chars: number) => {
  const words = ['tandem', 'edits', 'a', 'document', 'together', 'with', 'carets', 'and', 'saved', 'badges']
  let s = ''
  for (let i = 0; s.length < chars; i++) s += words[(i * 7 + (i >> 3)) % words.length] + (i % 13 === 12 ? '.\n' : ' ')
  return s
}

describe('permessage-deflate, compressed once for every receiver', () => {
  it('negotiates server_no_context_takeover and client_no_context_takeover with a client that offers the extension', async () => {
    const p = await pair()
    expect(p.extensions).toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover')
    expect(p.deflate).toEqual({ windowBits: 15, threshold: 0 })
    const plain = await pair({ perMessageDeflate: false })
    expect(plain.extensions).toBeUndefined()
    expect(plain.deflate).toBeUndefined()
  })

  it('a broadcast is compressed once: the same compressed frame (RSV1) to every receiver that negotiated it, the plain frame to the others', async () => {
    const a = await pair()
    const b = await pair()
    const c = await pair({ perMessageDeflate: false })
    const message = new TextEncoder().encode(lorem(50_000))
    const frame = sharedFrame(message)
    sendShared(a.server, frame, a.deflate)
    const compressed = frame.deflated?.[15]
    expect(compressed).toBeInstanceOf(Buffer)
    expect(compressed![0]).toBe(0xc2) // FIN + RSV1 + binary
    expect(compressed!.length).toBeLessThan(message.length / 3)
    sendShared(b.server, frame, b.deflate)
    sendShared(c.server, frame, c.deflate)
    expect(frame.deflated?.[15]).toBe(compressed) // the same buffer: not compressed again
    expect(frame.wire?.[0]).toBe(0x82) // the plain receiver's frame, built once too
    await until(() => a.received.length && b.received.length && c.received.length, 'the message at all three')
    for (const p of [a, b, c]) expect(Buffer.compare(p.received[0]!, Buffer.from(message))).toBe(0)
    expect(a.bytesRead()).toBeLessThan(message.length / 3)
    expect(c.bytesRead()).toBeGreaterThan(message.length)
  })

  it('messages below the threshold go plain, and so do messages compression would not shrink', async () => {
    const a = await pair()
    const deflate: Deflate = { windowBits: 15, threshold: 1024 }
    const small = sharedFrame(new TextEncoder().encode(lorem(1000)))
    sendShared(a.server, small, deflate)
    expect(small.deflated).toBeUndefined()
    const noise = sharedFrame(randomPayload(rng(7), 4096).map((_, i, arr) => (arr[i]! * 131 + i * 17) & 255))
    sendShared(a.server, noise, deflate)
    await until(() => a.received.length === 2, 'both messages')
    expect(Buffer.compare(a.received[1]!, Buffer.from(noise.payload))).toBe(0)
  })

  it('differential: for many random messages, ws\' own client decodes our once-compressed frame to the same bytes', async () => {
    // 15 bits (every browser, ws' default offer), 10 bits (a client asking for a small window), 8 bits (plain frames: zlib cannot make them)
    const clients = await Promise.all([pair(), pair({ perMessageDeflate: { serverMaxWindowBits: 10 } }), pair({ perMessageDeflate: { serverMaxWindowBits: 8 } })])
    expect(clients.map((p) => p.deflate?.windowBits)).toEqual([15, 10, 8])
    const next = rng(20261203)
    const sent: Uint8Array[] = []
    let compressedFrames = 0
    for (let i = 0; i < 400; i++) {
      const size = [0, 1, 125, 126, 65_535, 65_536][i] ?? Math.floor(next() ** 3 * 200_000)
      const message = randomPayload(next, size)
      const frame = sharedFrame(message)
      for (const p of clients) sendShared(p.server, frame, p.deflate)
      if (frame.deflated?.[15]) compressedFrames++
      expect(frame.deflated?.[8]).toBeUndefined()
      sent.push(message)
    }
    expect(compressedFrames).toBeGreaterThan(200)
    await until(() => clients.every((p) => p.received.length === sent.length), 'every message at every client', 30_000)
    for (const p of clients) p.received.forEach((got, i) => expect(Buffer.compare(got, Buffer.from(sent[i]!)), `message ${i}`).toBe(0))
  })
})

describe('permessage-deflate on the server', () => {
  it('stock y-websocket clients negotiate it: a large document reaches a joiner compressed and intact, next to a client without it', async () => {
    const s = await startServer({ WS_COMPRESSION: 'on' })
    cleanup.push(() => s.close())
    const writer = yws(s.wsUrl, 'big')
    cleanup.push(writer.destroy)
    await synced(writer.provider)
    const content = lorem(300_000)
    writer.doc.getText('t').insert(0, content)
    const joiner = yws(s.wsUrl, 'big')
    cleanup.push(joiner.destroy)
    await until(() => text(joiner.doc) === content, 'the document at the joiner')
    expect(joiner.provider.ws?.extensions).toBe('permessage-deflate')
    expect((joiner.provider.ws as unknown as { _socket: { bytesRead: number } })._socket.bytesRead).toBeLessThan(content.length / 2)
    // A client that offers no compression gets the same document, plain.
    class PlainWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { perMessageDeflate: false })
      }
    }
    const plainDoc = new Y.Doc()
    const plain = new WebsocketProvider(s.wsUrl, 'big', plainDoc, { WebSocketPolyfill: PlainWebSocket as never, disableBc: true })
    cleanup.push(() => plain.destroy())
    await until(() => text(plainDoc) === content, 'the document at the plain client')
    expect(plain.ws?.extensions).toBe('')
    // A broadcast reaches both kinds of receiver.
    const more = lorem(20_000)
    writer.doc.getText('t').insert(0, more)
    await until(() => text(joiner.doc) === more + content && text(plainDoc) === more + content, 'the broadcast at both')
  })

  it('WS_COMPRESSION=off (the default) negotiates nothing', async () => {
    const s = await startServer()
    cleanup.push(() => s.close())
    const ws = new WebSocket(`${s.wsUrl}/off`)
    cleanup.push(() => ws.terminate())
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      ws.once('upgrade', resolve)
      ws.once('error', reject)
    })
    expect(response.headers['sec-websocket-extensions']).toBeUndefined()
  })

  it('a zip bomb (a small deflated frame inflating past MAX_PAYLOAD_BYTES) closes that socket only, with 1009', async () => {
    const s = await startServer({ WS_COMPRESSION: 'on', MAX_PAYLOAD_BYTES: '65536' })
    cleanup.push(() => s.close())
    const reader = yws(s.wsUrl, 'bomb')
    const writer = yws(s.wsUrl, 'bomb')
    cleanup.push(reader.destroy, writer.destroy)
    await synced(reader.provider)
    await synced(writer.provider)
    const hostile = new WebSocket(`${s.wsUrl}/bomb`)
    cleanup.push(() => hostile.terminate())
    await new Promise((r, j) => {
      hostile.once('open', r)
      hostile.once('error', j)
    })
    expect(hostile.extensions).toBe('permessage-deflate')
    const closed = closeOf(hostile)
    // 64 MiB of zeros: a valid sync-update header, then what inflates to 1000× the limit.
    const bomb = new Uint8Array(64 * 1024 * 1024)
    bomb.set([0, 2])
    hostile.send(bomb, { compress: true })
    expect((await closed).code).toBe(1009)
    const written = (hostile as unknown as { _socket: { bytesWritten: number } })._socket.bytesWritten
    expect(written).toBeLessThan(256 * 1024) // it was small on the wire
    expect(await metric(s, 'tandem_rejected_frames_total', 'too-big')).toBe(1)
    // The room goes on: the others still edit together.
    writer.doc.getText('t').insert(0, 'still here')
    await until(() => text(reader.doc) === 'still here', 'an edit after the bomb')
  })

  it('a bad WS_COMPRESSION or WS_COMPRESSION_THRESHOLD stops startup naming the variable', () => {
    const failsOn = (env: Record<string, string>, variable: string) => {
      let err: unknown
      try {
        loadConfig({ STORE: 'memory', ...env }, { editorDir: '' })
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).variable).toBe(variable)
    }
    failsOn({ WS_COMPRESSION: 'yes' }, 'WS_COMPRESSION')
    failsOn({ WS_COMPRESSION_THRESHOLD: '-1' }, 'WS_COMPRESSION_THRESHOLD')
    failsOn({ WS_COMPRESSION_THRESHOLD: '1k' }, 'WS_COMPRESSION_THRESHOLD')
    const c = loadConfig({ STORE: 'memory' }, { editorDir: '' })
    expect([c.wsCompression, c.wsCompressionThreshold]).toEqual([false, 1024])
  })
})
