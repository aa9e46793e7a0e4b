import { afterEach, describe, expect, it } from 'vitest'
import { connect } from 'node:net'
import { startServer } from '../helpers/server.js'
import { synced, text, upgradeStatus, yws } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import type { DocStore } from '../../src/store/types.js'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

describe('liveness', () => {
  it('terminates a peer that misses a pong; healthy peers stay', async () => {
    const s = await startServer({ PING_INTERVAL_MS: '200' })
    cleanup.push(() => s.close())
    const healthy = yws(s.wsUrl, 'ping')
    cleanup.push(healthy.destroy)
    await synced(healthy.provider)

    // A peer that reads everything but never answers a ping (a half-dead link).
    const mute = connect(s.port, '127.0.0.1')
    cleanup.push(() => mute.destroy())
    mute.write(
      'GET /ping HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    )
    let received = ''
    mute.on('data', (d) => (received += d.toString('latin1')))
    const muteClosed = new Promise<void>((resolve) => mute.once('close', () => resolve()))
    await until(() => received.startsWith('HTTP/1.1 101'), 'mute peer upgraded')
    await until(() => s.server.connectionCount === 2, 'two connections')

    await muteClosed
    await until(() => s.server.connectionCount === 1, 'server dropped the mute peer')
    // The healthy client answered every ping and still relays.
    const other = yws(s.wsUrl, 'ping')
    cleanup.push(other.destroy)
    await synced(other.provider)
    healthy.doc.getText('t').insert(0, 'still here')
    await until(() => text(other.doc) === 'still here', 'healthy peer still relays')
    expect(healthy.provider.wsconnected).toBe(true)
  })

  it('refuses upgrades with 503 once shutdown has begun', async () => {
    let releaseLoad!: () => void
    const gate = new Promise<void>((r) => (releaseLoad = r))
    const s = await startServer({}, {
      wrapStore: (store: DocStore): DocStore => ({
        ...store,
        kind: store.kind,
        load: async (room) => {
          await gate
          return store.load(room)
        },
      }),
    })
    const pending = upgradeStatus(`${s.wsUrl}/draining`)
    await until(() => s.server.registry.size === 1, 'upgrade waiting on the room load')
    const closing = s.close()
    releaseLoad()
    expect(await pending).toBe(503)
    await closing
  })
})
