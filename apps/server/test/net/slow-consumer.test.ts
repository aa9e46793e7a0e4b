import { afterEach, describe, expect, it } from 'vitest'
import { connect, type Socket } from 'node:net'
import * as Y from 'yjs'
import { startServer, type RunningServer } from '../helpers/server.js'
import { synced, text, yws } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

/** Completes a WebSocket handshake by hand, then never reads another byte. */
async function stalledReader(port: number, room: string): Promise<Socket> {
  const sock = connect(port, '127.0.0.1')
  cleanup.push(() => sock.destroy())
  sock.write(
    `GET /${room} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  )
  await new Promise<void>((resolve, reject) => {
    sock.once('data', (d) => (String(d).startsWith('HTTP/1.1 101') ? resolve() : reject(new Error(String(d)))))
    sock.once('error', reject)
  })
  sock.pause()
  return sock
}

describe('slow consumers', () => {
  it('a reader that never reads is dropped; memory stays bounded; others are unaffected', async () => {
    const limit = 256 * 1024
    // Compression off whatever the default: with it, each of the writer's frames takes two zlib
    // hops on the thread pool (its deflate, the server's inflate), and the liveness sweep (the
    // stalled reader answers no ping) could drop the reader before its buffer passes the limit.
    const s: RunningServer = await startServer({ MAX_BUFFERED_BYTES: String(limit), PING_INTERVAL_MS: '400', WS_COMPRESSION: 'off' })
    cleanup.push(() => s.close())
    const writer = yws(s.wsUrl, 'slow')
    const reader = yws(s.wsUrl, 'slow')
    cleanup.push(writer.destroy, reader.destroy)
    await Promise.all([synced(writer.provider), synced(reader.provider)])
    await stalledReader(s.port, 'slow')
    await until(() => s.server.connectionCount === 3, 'three connections')

    // ~24 MB of edits: far more than the kernel's socket buffers can absorb for the stalled reader.
    const chunk = 'z'.repeat(100_000)
    const total = 240
    for (let i = 0; i < total; i++) {
      writer.doc.getText('t').insert(0, chunk)
      if (i % 20 === 0) await until(() => text(reader.doc).length >= (i + 1) * chunk.length, 'reader keeps up', 20_000)
    }
    await until(() => text(reader.doc).length === total * chunk.length, 'fast reader got everything', 30_000)
    expect((await s.server.metrics.slowConsumerCloses.get()).values[0]!.value).toBe(1)
    // The stalled socket is gone (terminated after it never completed the close), the others stay.
    await until(() => s.server.connectionCount === 2, 'stalled reader dropped', 10_000)
    const bytesOut = (await s.server.metrics.registry.getSingleMetric('tandem_bytes_out_total')!.get()).values.find(
      (v) => v.labels.type === 'sync',
    )!.value
    // Without the limit the server would have queued ~24 MB for the stalled reader on top of
    // the ~24 MB the fast reader got; with it, it stopped a little past the limit.
    expect(bytesOut).toBeLessThan(total * chunk.length + 16 * 1024 * 1024)
    expect(Y.encodeStateVector(reader.doc)).toEqual(Y.encodeStateVector(writer.doc))
  })
})
