import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { startServer, tempDir, type RunningServer } from '../helpers/server.js'
import { closeOf, rawSocket, synced, text, yws } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { createSqliteStore } from '../../src/store/sqlite.js'

// A room holds no Y.Doc until its document changes: joiners of a room that is only read are
// answered from the stored bytes (doc-state.ts).

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

async function server(env: Record<string, string> = {}): Promise<RunningServer> {
  const s = await startServer(env)
  cleanup.push(() => s.close())
  return s
}

function client(s: RunningServer, room: string, doc?: Y.Doc) {
  const c = yws(s.wsUrl, room, doc)
  cleanup.push(c.destroy)
  return c
}

const roomOf = (s: RunningServer, name: string) => s.server.registry.rooms().find((r) => r.name === name)

/** Writes `updates` as log rows of `room` straight into the SQLite store of `dataDir` (no snapshot). */
async function seedLog(dataDir: string, room: string, updates: Uint8Array[]): Promise<void> {
  const store = createSqliteStore({ dataDir, synchronous: 'NORMAL', checkpointIntervalMs: 0 })
  for (const update of updates) await store.append([{ room, update }])
  await store.close()
}

describe('room state before the first change', () => {
  it('serves joiners from the stored state without a Y.Doc; the first change creates it and everyone converges', async () => {
    const dataDir = tempDir()
    const author = new Y.Doc()
    author.getText('t').insert(0, 'stored text')
    await seedLog(dataDir, 'read-only', [Y.encodeStateAsUpdate(author)])
    const s = await server({ DATA_DIR: dataDir })

    // A fresh joiner (empty state vector) and a returning one that already holds part of it.
    const fresh = client(s, 'read-only')
    const returning = new Y.Doc()
    Y.applyUpdate(returning, Y.encodeStateAsUpdate(author))
    const back = client(s, 'read-only', returning)
    await Promise.all([synced(fresh.provider), synced(back.provider)])
    expect(text(fresh.doc)).toBe('stored text')
    expect(roomOf(s, 'read-only')!.materialized).toBe(false)

    // An edit the server has not seen, from a client that was offline: the room's first change.
    author.getText('t').insert(11, ' + offline edit')
    const late = client(s, 'read-only', author)
    await synced(late.provider)
    await until(() => text(fresh.doc) === 'stored text + offline edit' && text(returning) === text(fresh.doc), 'first change relayed')
    expect(roomOf(s, 'read-only')!.materialized).toBe(true)
    fresh.doc.getText('t').insert(0, '> ')
    await until(() => text(late.doc) === '> stored text + offline edit', 'later changes relayed')
  })

  it('answers a state vector it cannot read with 1007, without a Y.Doc too', async () => {
    const dataDir = tempDir()
    const author = new Y.Doc()
    author.getText('t').insert(0, 'x')
    await seedLog(dataDir, 'bad-sv', [Y.encodeStateAsUpdate(author)])
    const s = await server({ DATA_DIR: dataDir })
    const ok = client(s, 'bad-sv')
    await synced(ok.provider)
    const ws = await rawSocket(s.wsUrl, 'bad-sv')
    // sync step 1 whose state vector claims 200 entries and ends.
    ws.send(new Uint8Array([0, 0, 2, 200, 1]))
    expect((await closeOf(ws)).code).toBe(1007)
    expect(roomOf(s, 'bad-sv')!.materialized).toBe(false)
  })

  it('a snapshot of a room loaded from its log drops deleted text, as one from a Y.Doc does', async () => {
    const dataDir = tempDir()
    const author = new Y.Doc()
    const updates: Uint8Array[] = []
    author.on('update', (u: Uint8Array) => updates.push(u))
    const t = author.getText('t')
    t.insert(0, 'd'.repeat(20_000))
    t.delete(0, 20_000)
    t.insert(0, 'kept')
    await seedLog(dataDir, 'gc', updates)

    // COMPACT_AFTER_UPDATES=1: the load itself makes the room due for a snapshot.
    const s = await server({ DATA_DIR: dataDir, COMPACT_AFTER_UPDATES: '1' })
    const reader = client(s, 'gc')
    await synced(reader.provider)
    expect(text(reader.doc)).toBe('kept')
    await until(() => s.server.metrics.compactions.get().then((m) => m.values[0]?.value === 1), 'snapshot written')
    expect(roomOf(s, 'gc')!.materialized).toBe(false)
    await s.close()

    const store = createSqliteStore({ dataDir, synchronous: 'NORMAL', checkpointIntervalMs: 0 })
    cleanup.push(() => store.close())
    const loaded = await store.load('gc')
    expect(loaded.updates).toHaveLength(0)
    expect(loaded.snapshot!.data.length).toBeLessThan(200) // the merged log is > 20,000 bytes
    const check = new Y.Doc()
    Y.applyUpdate(check, loaded.snapshot!.data)
    expect(text(check)).toBe('kept')
  })
})
