import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { SyncProvider } from '@tandem/sync/provider'
import { startServer, type RunningServer } from '../helpers/server.js'
import { synced, text, yws } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

async function server(env?: Record<string, string>): Promise<RunningServer> {
  const s = await startServer(env)
  cleanup.push(() => s.close())
  return s
}

function stock(s: RunningServer, room: string) {
  const c = yws(s.wsUrl, room)
  cleanup.push(c.destroy)
  return c
}

function ours(wsUrl: string, room: string, doc = new Y.Doc()) {
  const provider = new SyncProvider({ url: wsUrl, room, doc, WebSocket })
  cleanup.push(() => provider.destroy())
  return { doc, provider }
}

/** Both client kinds expose doc, provider.synced, provider.awareness and provider.disconnect(). */
const kinds = [
  // The stock client puts the room name in the URL as-is, so a literal '%' must be pre-encoded;
  // SyncProvider percent-encodes the name itself.
  { kind: 'stock y-websocket clients', make: (s: RunningServer, room: string) => stock(s, room), percentName: '100%25 sure' },
  { kind: 'SyncProvider clients', make: (s: RunningServer, room: string) => ours(s.wsUrl, room), percentName: '100% sure' },
]

describe.each(kinds)('$kind', ({ make, percentName }) => {
  it('two and three clients converge on Y.Text edits', async () => {
    const s = await server()
    const [a, b, c] = [make(s, 'r'), make(s, 'r'), make(s, 'r')]
    await Promise.all([a, b, c].map((x) => synced(x.provider)))
    a.doc.getText('t').insert(0, 'alpha ')
    b.doc.getText('t').insert(0, 'beta ')
    c.doc.getText('t').insert(0, 'gamma ')
    await until(() => text(a.doc).length === 17 && text(b.doc) === text(a.doc) && text(c.doc) === text(a.doc), 'convergence')
    expect(text(a.doc)).toContain('alpha')
    expect(text(b.doc)).toContain('gamma')
  })

  it('converge on XmlFragment("default") edits (the editor document)', async () => {
    const s = await server()
    const [a, b] = [make(s, 'xml'), make(s, 'xml')]
    await Promise.all([a, b].map((x) => synced(x.provider)))
    const p = new Y.XmlElement('paragraph')
    p.insert(0, [new Y.XmlText('hello world')])
    a.doc.getXmlFragment('default').insert(0, [p])
    await until(() => b.doc.getXmlFragment('default').toString().includes('hello world'), 'xml at b')
    expect(b.doc.getXmlFragment('default').toString()).toBe(a.doc.getXmlFragment('default').toString())
  })

  it('awareness crosses, and a closed client disappears', async () => {
    const s = await server()
    const [a, b] = [make(s, 'aw'), make(s, 'aw')]
    await Promise.all([a, b].map((x) => synced(x.provider)))
    a.provider.awareness.setLocalStateField('user', { name: 'Ada' })
    await until(() => [...b.provider.awareness.getStates().values()].some((st) => (st.user as { name?: string } | undefined)?.name === 'Ada'), 'Ada at b')
    const adaId = a.doc.clientID
    a.provider.disconnect()
    await until(() => !b.provider.awareness.getStates().has(adaId), 'Ada gone at b')
  })

  it('a late joiner gets the full state', async () => {
    const s = await server()
    const a = make(s, 'late')
    await synced(a.provider)
    for (let i = 0; i < 50; i++) a.doc.getText('t').insert(i, String(i % 10))
    await until(() => s.server.metrics.updatesStored.get().then((m) => m.values[0]!.value >= 1), 'stored')
    const b = make(s, 'late')
    await synced(b.provider)
    await until(() => text(b.doc) === text(a.doc), 'late joiner state')
    expect(text(b.doc)).toHaveLength(50)
  })

  it('rooms are isolated, including unicode and percent-encoded names', async () => {
    const s = await server()
    const names = ['plain', 'ünïcødé 文档 🚀', 'with space', 'a/b', percentName]
    const clients = names.map((n) => [make(s, n), make(s, n)] as const)
    await Promise.all(clients.flat().map((c) => synced(c.provider)))
    clients.forEach(([a], i) => a.doc.getText('t').insert(0, `room-${i}`))
    for (const [i, [, b]] of clients.entries()) {
      await until(() => text(b.doc) === `room-${i}`, `room ${names[i]}`)
    }
    // Our client percent-encodes the whole name; the stock one sends it raw: same room.
    const o = ours(s.wsUrl, 'ünïcødé 文档 🚀')
    await until(() => o.provider.synced, 'ours synced')
    await until(() => text(o.doc) === 'room-1', 'same room for both encodings')
    const pct = ours(s.wsUrl, '100% sure')
    await until(() => text(pct.doc) === 'room-4', 'percent-encoded name decodes to the same room')
  })
})

describe('SyncProvider against the server', () => {
  it('two providers converge and see each other’s awareness', async () => {
    const s = await server()
    const a = ours(s.wsUrl, 'p')
    const b = ours(s.wsUrl, 'p')
    await until(() => a.provider.synced && b.provider.synced, 'synced')
    a.doc.getText('t').insert(0, 'from a')
    b.doc.getText('t').insert(0, 'from b ')
    await until(() => text(a.doc) === text(b.doc) && text(a.doc).length === 13, 'converged')
    a.provider.awareness.setLocalStateField('user', { name: 'A' })
    await until(() => [...b.provider.awareness.getStates().values()].some((st) => (st.user as { name?: string } | undefined)?.name === 'A'), 'awareness')
  })

  it('interoperates with a stock client in the same room', async () => {
    const s = await server()
    const a = ours(s.wsUrl, 'mix')
    const b = stock(s, 'mix')
    await until(() => a.provider.synced && b.provider.synced, 'synced')
    a.doc.getText('t').insert(0, 'ours ')
    b.doc.getText('t').insert(0, 'stock ')
    await until(() => text(a.doc) === text(b.doc) && text(a.doc).length === 11, 'converged')
  })
})

describe('server restart', () => {
  it('clients reconnect by themselves and no edit is lost from either side', async () => {
    const first = await startServer()
    const port = first.port
    const a = ours(first.wsUrl, 'restart')
    const b = stock(first, 'restart')
    await until(() => a.provider.synced && b.provider.synced, 'synced')
    a.doc.getText('t').insert(0, 'before ')
    await until(() => text(b.doc) === 'before ', 'relayed before restart')
    await first.close()
    await until(() => a.provider.status === 'disconnected' || a.provider.status === 'connecting', 'a noticed')
    // Both sides edit while the server is down.
    a.doc.getText('t').insert(text(a.doc).length, 'a-offline ')
    b.doc.getText('t').insert(0, 'b-offline ')
    const second = await startServer({ DATA_DIR: first.dataDir, PORT: String(port) })
    cleanup.push(() => second.close())
    await until(() => text(a.doc) === text(b.doc) && text(a.doc).includes('a-offline') && text(a.doc).includes('b-offline'), 'converged after restart', 20_000)
    expect(text(a.doc)).toContain('before')
    // And the server has all of it: a fresh client sees the same.
    const c = stock(second, 'restart')
    await synced(c.provider)
    await until(() => text(c.doc) === text(a.doc), 'fresh client sees everything')
  })
})
