import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { SyncProvider, sharedWebSocket } from '@tandem/sync/provider'
import { startServer, type RunningServer } from '../helpers/server.js'
import { synced, text, yws } from '../helpers/clients.js'
import { SECRET, token } from '../helpers/auth.js'
import { until } from '../helpers/wait.js'
import { createTcpProxy } from '../helpers/services.js'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

describe('SyncProviders sharing one socket (sharedWebSocket)', () => {
  it('providers of several rooms on one server share one socket: each syncs with its room, saves, and leaves without the others', async () => {
    const s: RunningServer = await startServer()
    cleanup.push(() => s.close())
    const stockA = yws(s.wsUrl, 'sa')
    const stockB = yws(s.wsUrl, 'sb')
    cleanup.push(stockA.destroy, stockB.destroy)
    await Promise.all([synced(stockA.provider), synced(stockB.provider)])
    stockA.doc.getText('t').insert(0, 'A:')
    stockB.doc.getText('t').insert(0, 'B:')

    const Shared = sharedWebSocket(WebSocket)
    const a = new SyncProvider({ url: s.wsUrl, room: 'sa', doc: new Y.Doc(), WebSocket: Shared })
    const b = new SyncProvider({ url: s.wsUrl, room: 'sb', doc: new Y.Doc(), WebSocket: Shared })
    const c = new SyncProvider({ url: s.wsUrl, room: 'sa', doc: new Y.Doc(), WebSocket: Shared })
    cleanup.push(() => a.destroy(), () => b.destroy(), () => c.destroy())
    await until(() => a.synced && b.synced && c.synced, 'all three synced')
    expect(s.server.connectionCount).toBe(3) // two stock sockets + ONE shared socket
    expect(text(a.doc)).toBe('A:')
    expect(text(b.doc)).toBe('B:')

    a.doc.getText('t').insert(2, 'from a')
    b.doc.getText('t').insert(2, 'from b')
    await until(() => text(stockA.doc) === 'A:from a' && text(stockB.doc) === 'B:from b' && text(c.doc) === 'A:from a', 'edits in their rooms')
    await until(() => a.savedState === 'supported' && b.savedState === 'supported' && a.unsavedChanges === 0 && b.unsavedChanges === 0, 'acknowledged per room')

    a.destroy()
    b.doc.getText('t').insert(0, '>')
    await until(() => text(stockB.doc) === '>B:from b', 'the other rooms go on')
    expect(s.server.connectionCount).toBe(3)
    b.destroy()
    c.destroy()
    await until(() => s.server.connectionCount === 2, 'the shared socket closes with its last room')
  })

  it('a token per room; a refused room stays out while the others are live; when the shared socket drops, every room comes back on a new one', async () => {
    const s = await startServer({ AUTH_SECRET: SECRET })
    cleanup.push(() => s.close())
    const proxy = await createTcpProxy(s.url)
    cleanup.push(() => proxy.close())
    const url = proxy.url('ws:').replace(/\/$/, '')
    const Shared = sharedWebSocket(WebSocket)
    const fast = { initialBackoffMs: 50, maxBackoffMs: 200 }
    const one = new SyncProvider({ url, room: 'doc', doc: new Y.Doc(), WebSocket: Shared, token: () => token({ room: 'doc' }), ...fast })
    const two = new SyncProvider({ url, room: 'two', doc: new Y.Doc(), WebSocket: Shared, token: () => token({ room: 'two' }), ...fast })
    const wrong = new SyncProvider({ url, room: 'other', doc: new Y.Doc(), WebSocket: Shared, token: () => token({ room: 'doc' }), ...fast })
    cleanup.push(() => one.destroy(), () => two.destroy(), () => wrong.destroy())
    await until(() => one.synced && two.synced, 'the rooms with good tokens')
    expect(wrong.synced).toBe(false)
    expect(s.server.connectionCount).toBe(1)

    await proxy.cut()
    await until(() => one.status !== 'connected' && two.status !== 'connected', 'both rooms lost with the socket')
    one.doc.getText('t').insert(0, 'offline edit')
    await proxy.restore()
    await until(() => one.synced && two.synced && one.unsavedChanges === 0, 'both back, the offline edit saved')
    await until(() => s.server.connectionCount === 1, 'on one socket again')
    expect(wrong.synced).toBe(false)
  })
})
