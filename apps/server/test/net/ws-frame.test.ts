import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { frameBinary, sendShared, sharedFrame } from '../../src/net/ws-frame.js'
import { until } from '../helpers/wait.js'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

/** A real ws server on a real port; resolves with its side of one connected client, and what that client receives. */
async function pair() {
  const http: Server = createServer()
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false })
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  cleanup.push(() => new Promise((r) => http.close(r)))
  cleanup.push(() => wss.close())
  const serverSide = new Promise<WebSocket>((r) => wss.once('connection', r))
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`)
  cleanup.push(() => client.terminate())
  const received: Buffer[] = []
  client.on('message', (d: Buffer, isBinary) => {
    expect(isBinary).toBe(true)
    received.push(d)
  })
  await new Promise((r, j) => {
    client.once('open', r)
    client.once('error', j)
  })
  return { server: await serverSide, received }
}

const payload = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) % 256)

describe('frames built once for every receiver', () => {
  it('frameBinary is a valid unmasked binary frame at every length boundary (7, 16 and 64-bit lengths)', async () => {
    const { server, received } = await pair()
    const sizes = [0, 1, 125, 126, 127, 65535, 65536, 200_000]
    for (const n of sizes) sendShared(server, sharedFrame(payload(n)))
    await until(() => received.length === sizes.length, 'every frame')
    received.forEach((got, i) => expect(Buffer.compare(got, Buffer.from(payload(sizes[i]!)))).toBe(0))
    // Byte-exact header for the three length encodings.
    expect([...frameBinary(payload(125)).subarray(0, 2)]).toEqual([0x82, 125])
    expect([...frameBinary(payload(126)).subarray(0, 4)]).toEqual([0x82, 126, 0, 126])
    expect([...frameBinary(payload(65536)).subarray(0, 10)]).toEqual([0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0])
  })

  it('the one buffer is built once and shared; interleaved with ws.send, order is kept', async () => {
    const a = await pair()
    const b = await pair()
    const shared = sharedFrame(payload(10))
    a.server.send(payload(1))
    sendShared(a.server, shared)
    const wire = shared.wire
    expect(wire).toBeDefined()
    sendShared(b.server, shared)
    expect(shared.wire).toBe(wire)
    a.server.send(payload(2))
    await until(() => a.received.length === 3 && b.received.length === 1, 'all frames')
    expect(a.received.map((d) => d.length)).toEqual([1, 10, 2])
    expect(b.received[0]!.length).toBe(10)
  })

  it('falls back to ws.send when ws has something queued, and after close', async () => {
    const { server, received } = await pair()
    const sender = (server as unknown as { _sender: { _state: number } })._sender
    expect(sender._state).toBe(0) // the internals the fast path relies on are there
    sender._state = 1 // as while ws compresses: the direct write would jump its queue
    const shared = sharedFrame(payload(5))
    const sent: unknown[] = []
    const send = server.send.bind(server)
    server.send = ((data: unknown, ...rest: unknown[]) => {
      sent.push(data)
      sender._state = 0 // let ws deliver it
      return (send as (...a: unknown[]) => void)(data, ...rest)
    }) as typeof server.send
    sendShared(server, shared)
    expect(sent).toEqual([shared.payload])
    expect(shared.wire).toBeUndefined()
    await until(() => received.length === 1, 'the frame via ws.send')

    server.close()
    sendShared(server, sharedFrame(payload(3))) // no throw, nothing written after the close frame
    expect(sent).toHaveLength(2)
  })
})
