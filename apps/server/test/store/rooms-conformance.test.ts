import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createPostgresStore } from '../../src/store/postgres.js'
import { createSqliteStore } from '../../src/store/sqlite.js'
import { createMemoryStore } from '../../src/store/memory.js'
import type { DocStore } from '../../src/store/types.js'
import { dropSchema, requirePostgres, uniqueName } from '../helpers/services.js'

/**
 * The DocStore methods the HTTP API builds on (src/store/types.ts: `ifLastSeq`, `lastSeq`,
 * `listRooms`, `deleteRoom`), run against every implementation, in the style of
 * conformance.test.ts: a fixture gives each test fresh storage; `open()` may be called again for
 * a second store instance on the same storage (a second server) where the store has one.
 */
interface StoreFixture {
  open(): Promise<DocStore>
  /** false for the memory store: one instance is all there is */
  shared: boolean
  cleanup(): Promise<void>
}

const bytes = (s: string) => new TextEncoder().encode(s)

/** A real Yjs update inserting `s` (PostgreSQL's compact merges what it stores with Yjs). */
function yupdate(s: string): Uint8Array {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, s)
  return Y.encodeStateAsUpdate(doc)
}

function roomStoreConformance(name: string, makeFixture: () => StoreFixture) {
  describe(`DocStore rooms conformance: ${name}`, () => {
    let fx: StoreFixture
    let store: DocStore
    beforeEach(async () => {
      fx = makeFixture()
      store = await fx.open()
    })
    afterEach(async () => {
      await fx.cleanup()
    })

    it('lastSeq is the highest seq of the log and the snapshot, 0 for a room with nothing stored', async () => {
      expect(await store.lastSeq('none')).toBe(0)
      const seqs = await store.append([{ room: 'r', update: bytes('a') }, { room: 'other', update: bytes('x') }, { room: 'r', update: bytes('b') }])
      expect(await store.lastSeq('r')).toBe(seqs[2])
      const doc = new Y.Doc()
      doc.getText('t').insert(0, 'all')
      await store.compact('r', Y.encodeStateAsUpdate(doc), seqs[2]!)
      expect(await store.lastSeq('r')).toBe(seqs[2])
      expect(await store.lastSeq('other')).toBe(seqs[1])
    })

    it('a conditional entry is written only while the room is at the seq it expects; its seq is 0 otherwise, the others are written', async () => {
      const [a] = await store.append([{ room: 'c', update: bytes('1') }])
      const stale = await store.append([
        { room: 'c', update: bytes('stale'), ifLastSeq: 0 },
        { room: 'd', update: bytes('unconditional') },
      ])
      expect(stale[0]).toBe(0)
      expect(stale[1]).toBeGreaterThan(a!)
      const fresh = await store.append([{ room: 'c', update: bytes('2'), ifLastSeq: a! }])
      expect(fresh[0]).toBeGreaterThan(a!)
      // A second entry for the same room in the same call cannot find the seq the first one had.
      const both = await store.append([
        { room: 'c', update: bytes('3'), ifLastSeq: fresh[0]! },
        { room: 'c', update: bytes('4'), ifLastSeq: fresh[0]! },
      ])
      expect(both[0]).toBeGreaterThan(0)
      expect(both[1]).toBe(0)
      const loaded = await store.load('c')
      expect(loaded.updates.map((u) => Buffer.from(u.data).toString())).toEqual(['1', '2', '3'])
      expect((await store.load('empty-expected')).updates).toEqual([])
      const [seeded] = await store.append([{ room: 'empty-expected', update: bytes('seed'), ifLastSeq: 0 }])
      expect(seeded).toBeGreaterThan(0)
    })

    it('writers racing on the same expectation (one store, and a second instance on the same storage): exactly one wins', async () => {
      const stores = fx.shared ? [store, await fx.open()] : [store]
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => stores[i % stores.length]!.append([{ room: 'race', update: bytes(`seed ${i}`), ifLastSeq: 0 }])),
      )
      const winners = results.filter((r) => r[0]! > 0)
      expect(winners).toHaveLength(1)
      expect((await store.load('race')).updates).toHaveLength(1)
    })

    it('listRooms: name order, prefix, and pages that visit each room once; bytes and times', async () => {
      const before = Date.now()
      const names = ['b/2', 'a', 'b/1', 'b', 'c', 'b/10', 'bz', 'é', 'z']
      for (const room of names) await store.append([{ room, update: bytes(`in ${room}!`) }])
      const after = Date.now()
      // A room with only a snapshot is listed too, with its bytes.
      const [s] = await store.append([{ room: 'snap', update: yupdate('row') }])
      await store.compact('snap', yupdate('row'), s!)
      const snapBytes = (await store.load('snap')).snapshot!.data.length

      const all = await store.listRooms({ prefix: '', after: undefined, limit: 100 })
      expect(all.map((r) => r.room)).toEqual([...names, 'snap'].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))))
      const a = all.find((r) => r.room === 'a')!
      expect(a.bytes).toBe(bytes('in a!').length)
      expect(a.createdAt).toBeGreaterThanOrEqual(before - 1000)
      expect(a.createdAt).toBeLessThanOrEqual(after + 1000)
      expect(a.updatedAt).toBeGreaterThanOrEqual(a.createdAt!)
      const snap = all.find((r) => r.room === 'snap')!
      expect(snap.bytes).toBe(snapBytes)
      expect(snap.createdAt).toBeGreaterThanOrEqual(before - 1000)

      expect((await store.listRooms({ prefix: 'b', after: undefined, limit: 100 })).map((r) => r.room)).toEqual(['b', 'b/1', 'b/10', 'b/2', 'bz'])
      expect((await store.listRooms({ prefix: 'b/', after: 'b/1', limit: 100 })).map((r) => r.room)).toEqual(['b/10', 'b/2'])
      expect(await store.listRooms({ prefix: 'nothing', after: undefined, limit: 100 })).toEqual([])

      const paged: string[] = []
      let cursor: string | undefined
      for (;;) {
        const page = await store.listRooms({ prefix: '', after: cursor, limit: 3 })
        if (page.length === 0) break
        expect(page.length).toBeLessThanOrEqual(3)
        paged.push(...page.map((r) => r.room))
        cursor = page[page.length - 1]!.room
      }
      expect(paged).toEqual(all.map((r) => r.room))
    })

    it('times survive a compaction: created stays the first write, updated the latest', async () => {
      const doc = new Y.Doc()
      const updates: Uint8Array[] = []
      doc.on('update', (u: Uint8Array) => updates.push(u))
      doc.getText('t').insert(0, '1')
      const [first] = await store.append([{ room: 't', update: updates[0]! }])
      const created = (await store.listRooms({ prefix: 't', after: undefined, limit: 1 }))[0]!.createdAt!
      doc.getText('t').insert(1, '2')
      const [second] = await store.append([{ room: 't', update: updates[1]! }])
      const updated = (await store.listRooms({ prefix: 't', after: undefined, limit: 1 }))[0]!.updatedAt!
      expect(updated).toBeGreaterThanOrEqual(created)
      await store.compact('t', Y.encodeStateAsUpdate(doc), first!)
      await store.compact('t', Y.encodeStateAsUpdate(doc), second!)
      const loaded = await store.load('t')
      expect(loaded.updates).toEqual([])
      const [info] = await store.listRooms({ prefix: 't', after: undefined, limit: 1 })
      expect(info).toEqual({ room: 't', bytes: loaded.snapshot!.data.length, createdAt: created, updatedAt: updated })
    })

    it('deleteRoom removes log, snapshot and quarantined rows of that room only', async () => {
      const seqs = await store.append([
        { room: 'gone', update: yupdate('1') },
        { room: 'gone', update: bytes('2') },
        { room: 'kept', update: bytes('k') },
      ])
      await store.compact('gone', yupdate('1'), seqs[0]!)
      await store.quarantine('gone', [seqs[1]!], 'test')
      await store.append([{ room: 'gone', update: bytes('3') }])
      await store.deleteRoom('gone')
      await store.deleteRoom('never-existed')
      expect(await store.load('gone')).toEqual({ snapshot: null, updates: [] })
      expect(await store.lastSeq('gone')).toBe(0)
      expect((await store.listRooms({ prefix: '', after: undefined, limit: 10 })).map((r) => r.room)).toEqual(['kept'])
      expect((await store.load('kept')).updates).toHaveLength(1)
      // A deleted room starts again from nothing, and a seeding write expecting 0 succeeds.
      const [again] = await store.append([{ room: 'gone', update: bytes('new'), ifLastSeq: 0 }])
      expect(again).toBeGreaterThan(0)
      expect((await store.load('gone')).updates.map((u) => Buffer.from(u.data).toString())).toEqual(['new'])
    })
  })
}

roomStoreConformance('memory', () => ({
  open: async () => createMemoryStore(),
  shared: false,
  cleanup: async () => {},
}))

roomStoreConformance('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-store-'))
  const opened: DocStore[] = []
  return {
    shared: true,
    open: async () => {
      const s = createSqliteStore({ dataDir: dir, synchronous: 'NORMAL', checkpointIntervalMs: 0 })
      opened.push(s)
      return s
    },
    cleanup: async () => {
      for (const s of opened) await s.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
})

describe('PostgreSQL service', () => {
  let pgUrl = ''
  beforeAll(async () => {
    pgUrl = await requirePostgres()
  })
  roomStoreConformance('postgres', () => {
    const schema = uniqueName('t_rooms')
    const opened: DocStore[] = []
    return {
      shared: true,
      open: async () => {
        const s = await createPostgresStore({ url: pgUrl, schema, poolMax: 4, statementTimeoutMs: 10_000 })
        opened.push(s)
        return s
      },
      cleanup: async () => {
        for (const s of opened) await s.close()
        await dropSchema(schema)
      },
    }
  })
})
