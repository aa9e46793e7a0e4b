import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createPostgresStore, type PostgresStore } from '../../src/store/postgres.js'
import { PG_SCHEMA_VERSION, roomLockKey } from '../../src/store/postgres-schema.js'
import { createSqliteStore } from '../../src/store/sqlite.js'
import type { DocStore, LoadedDoc } from '../../src/store/types.js'
import { dropSchema, requirePostgres, uniqueName, withPg } from '../helpers/services.js'

/**
 * The DocStore interface's rules (src/store/types.ts), run against every implementation. A fixture
 * gives each test fresh, isolated storage; `open()` may be called several times for the same
 * storage (a second server, or a restart), and `cleanup()` closes what is still open and removes
 * the storage.
 */
interface StoreFixture {
  open(): Promise<DocStore>
  cleanup(): Promise<void>
}

/**
 * Snapshot bytes are implementation-defined (PostgreSQL merges the caller's snapshot with the rows
 * it replaces, see compact in postgres.ts), so snapshots are compared by the document they hold.
 */
function textOf(loaded: LoadedDoc): string {
  const doc = new Y.Doc()
  if (loaded.snapshot) Y.applyUpdate(doc, loaded.snapshot.data)
  for (const u of loaded.updates) Y.applyUpdate(doc, u.data)
  return doc.getText('t').toString()
}

/** A doc whose every edit is captured as one update, like a client's stream of edits. */
function editor() {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  const text = doc.getText('t')
  return {
    doc,
    updates,
    insert(s: string) {
      text.insert(text.length, s)
      return updates[updates.length - 1]!
    },
    remove(index: number, len: number) {
      text.delete(index, len)
      return updates[updates.length - 1]!
    },
  }
}

const bytes = (s: string) => new TextEncoder().encode(s)
const asArray = (u: Uint8Array) => Array.from(u)
const isAscending = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1]! < x)

function docStoreConformance(name: string, makeFixture: () => StoreFixture) {
  describe(`DocStore conformance: ${name}`, () => {
    let fx: StoreFixture
    let store: DocStore
    beforeEach(async () => {
      fx = makeFixture()
      store = await fx.open()
    })
    afterEach(async () => {
      await fx.cleanup()
    })

    it('an unknown room loads empty', async () => {
      expect(await store.load('never-written')).toEqual({ snapshot: null, updates: [] })
    })

    it('append returns ascending seqs in input order and load returns the rows in that order', async () => {
      const first = await store.append([
        { room: 'r', update: bytes('a') },
        { room: 'r', update: bytes('b') },
        { room: 'r', update: bytes('c') },
      ])
      const second = await store.append([{ room: 'r', update: bytes('d') }])
      expect(first).toHaveLength(3)
      expect(isAscending([...first, ...second])).toBe(true)
      const loaded = await store.load('r')
      expect(loaded.snapshot).toBeNull()
      expect(loaded.updates.map((u) => u.seq)).toEqual([...first, ...second])
      expect(loaded.updates.map((u) => Buffer.from(u.data).toString())).toEqual(['a', 'b', 'c', 'd'])
      expect(await store.append([])).toEqual([])
    })

    it('one append call may span rooms: each entry gets its own seq, in input order', async () => {
      const seqs = await store.append([
        { room: 'x', update: bytes('x1') },
        { room: 'y', update: bytes('y1') },
        { room: 'x', update: bytes('x2') },
      ])
      expect(isAscending(seqs)).toBe(true)
      const x = await store.load('x')
      const y = await store.load('y')
      expect(x.updates.map((u) => u.seq)).toEqual([seqs[0], seqs[2]])
      expect(y.updates.map((u) => u.seq)).toEqual([seqs[1]])
    })

    it('compact: the snapshot stands for rows <= throughSeq, which are gone; later rows are kept byte-exact', async () => {
      const ed = editor()
      const early = [ed.insert('hello'), ed.insert(' '), ed.insert('world')]
      const earlySeqs = await store.append(early.map((update) => ({ room: 'doc', update })))
      const snapshot = Y.encodeStateAsUpdate(ed.doc)
      const later = [ed.insert('!'), ed.remove(0, 1)]
      const laterSeqs = await store.append(later.map((update) => ({ room: 'doc', update })))

      await store.compact('doc', snapshot, earlySeqs[2]!)
      const loaded = await store.load('doc')
      expect(loaded.snapshot?.seq).toBe(earlySeqs[2])
      expect(loaded.updates.map((u) => u.seq)).toEqual(laterSeqs)
      expect(loaded.updates.map((u) => asArray(u.data))).toEqual(later.map(asArray))
      expect(textOf(loaded)).toBe('ello world!')

      // Appends after a compaction still get larger seqs and load after the snapshot.
      const [next] = await store.append([{ room: 'doc', update: ed.insert('?') }])
      expect(next).toBeGreaterThan(laterSeqs[1]!)

      // A second compaction replaces the snapshot and drops everything through its seq.
      await store.compact('doc', Y.encodeStateAsUpdate(ed.doc), next!)
      const again = await store.load('doc')
      expect(again.snapshot?.seq).toBe(next)
      expect(again.updates).toEqual([])
      expect(textOf(again)).toBe('ello world!?')
    })

    it('compact touches only its own room', async () => {
      const a = editor()
      const b = editor()
      const [seqA] = await store.append([{ room: 'a', update: a.insert('A') }])
      await store.append([{ room: 'b', update: b.insert('B') }])
      await store.compact('a', Y.encodeStateAsUpdate(a.doc), seqA!)
      const loadedB = await store.load('b')
      expect(loadedB.snapshot).toBeNull()
      expect(loadedB.updates).toHaveLength(1)
      expect(textOf(await store.load('a'))).toBe('A')
    })

    it('quarantine removes rows from load, keeps the others, and can drop an unreadable snapshot', async () => {
      const seqs = await store.append(['1', '2', '3'].map((s) => ({ room: 'q', update: bytes(s) })))
      await store.quarantine('q', [seqs[1]!], 'test: unreadable')
      const loaded = await store.load('q')
      expect(loaded.updates.map((u) => Buffer.from(u.data).toString())).toEqual(['1', '3'])
      await store.quarantine('q', [], 'nothing')

      const ed = editor()
      const [s1] = await store.append([{ room: 'snap', update: ed.insert('x') }])
      await store.compact('snap', Y.encodeStateAsUpdate(ed.doc), s1!)
      await store.quarantine('snap', [s1!], 'test: snapshot unreadable')
      expect(await store.load('snap')).toEqual({ snapshot: null, updates: [] })
    })

    it('rooms are isolated, including unicode names and names differing only in case or normalization', async () => {
      const rooms = ['café ☕', 'cafe\u0301 ☕', 'Café ☕', '日本語/ドキュメント', 'emoji 🧑‍🤝‍🧑', 'a/b', 'a%2Fb', ' spaced ']
      const seqs = await store.append(rooms.map((room) => ({ room, update: bytes(`in ${room}`) })))
      expect(new Set(seqs).size).toBe(rooms.length)
      for (const room of rooms) {
        const loaded = await store.load(room)
        expect(loaded.updates.map((u) => Buffer.from(u.data).toString())).toEqual([`in ${room}`])
      }
    })

    it('concurrent appends (one store, and a second store on the same storage) keep per-room order', async () => {
      const other = await fx.open()
      const calls: Promise<number[]>[] = []
      for (let i = 0; i < 40; i++) {
        const s = i % 2 === 0 ? store : other
        calls.push(
          s.append([
            { room: 'busy', update: bytes(`${i}.0`) },
            { room: i % 3 === 0 ? 'side' : 'busy', update: bytes(`${i}.1`) },
            { room: 'busy', update: bytes(`${i}.2`) },
          ]),
        )
      }
      const results = await Promise.all(calls)
      for (const seqs of results) expect(isAscending(seqs)).toBe(true)
      const all = results.flat()
      expect(new Set(all).size).toBe(all.length)

      const loaded = await store.load('busy')
      const loadedSeqs = loaded.updates.map((u) => u.seq)
      expect(isAscending(loadedSeqs)).toBe(true)
      const expectedBusy = results.flatMap((seqs, i) => (i % 3 === 0 ? [seqs[0]!, seqs[2]!] : seqs)).sort((a, b) => a - b)
      expect(loadedSeqs).toEqual(expectedBusy)
      // Within each call, its entries load in the order they were given.
      const bySeq = new Map(loaded.updates.map((u) => [u.seq, Buffer.from(u.data).toString()]))
      results.forEach((seqs, i) => {
        expect(bySeq.get(seqs[0]!)).toBe(`${i}.0`)
        expect(bySeq.get(seqs[2]!)).toBe(`${i}.2`)
      })
    })

    it('data survives close and a new store instance (restart)', async () => {
      const ed = editor()
      const seqs = await store.append([{ room: 'durable', update: ed.insert('kept') }])
      await store.compact('durable', Y.encodeStateAsUpdate(ed.doc), seqs[0]!)
      const [after] = await store.append([{ room: 'durable', update: ed.insert(' too') }])
      await store.close()
      await store.close() // idempotent

      const reopened = await fx.open()
      const loaded = await reopened.load('durable')
      expect(loaded.snapshot?.seq).toBe(seqs[0])
      expect(loaded.updates.map((u) => u.seq)).toEqual([after])
      expect(textOf(loaded)).toBe('kept too')
      const [later] = await reopened.append([{ room: 'durable', update: ed.insert('.') }])
      expect(later).toBeGreaterThan(after!)
    })

    it('1 MB blobs round-trip byte-exact (alone and in a batch)', async () => {
      const big = randomBytes(1024 * 1024)
      const big2 = new Uint8Array(randomBytes(1024 * 1024 + 17)) // a plain Uint8Array, not a Buffer
      const withZeros = new Uint8Array(4096) // all NUL bytes: bytea, not text
      await store.append([{ room: 'blob', update: big }])
      await store.append([
        { room: 'blob', update: withZeros },
        { room: 'blob', update: big2.subarray(3) }, // a view with an offset
      ])
      const loaded = await store.load('blob')
      expect(loaded.updates).toHaveLength(3)
      expect(Buffer.compare(Buffer.from(loaded.updates[0]!.data), big)).toBe(0)
      expect(Buffer.compare(Buffer.from(loaded.updates[1]!.data), Buffer.from(withZeros))).toBe(0)
      expect(Buffer.compare(Buffer.from(loaded.updates[2]!.data), Buffer.from(big2.subarray(3)))).toBe(0)
    })

    it('health reports ok', async () => {
      expect(await store.health()).toMatchObject({ ok: true })
    })
  })
}

// --- SQLite: a temp DATA_DIR per test -------------------------------------------------------

docStoreConformance('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-store-'))
  const opened: DocStore[] = []
  return {
    open: async () => {
      const s = createSqliteStore({ dataDir: dir, synchronous: 'NORMAL' })
      opened.push(s)
      return s
    },
    cleanup: async () => {
      for (const s of opened) await s.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
})

// --- PostgreSQL: a schema per test, dropped afterwards --------------------------------------

let pgUrl = ''
describe('PostgreSQL service', () => {
  beforeAll(async () => {
    // Fails every PostgreSQL test below with a how-to-start message when the database is down.
    pgUrl = await requirePostgres()
  })

  const pgFixture = (): StoreFixture & { schema: string } => {
    const schema = uniqueName('t_store')
    const opened: DocStore[] = []
    return {
      schema,
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
  }

  docStoreConformance('postgres', pgFixture)

  describe('PostgreSQL specifics', () => {
    let fx: ReturnType<typeof pgFixture>
    let store: PostgresStore
    beforeEach(async () => {
      fx = pgFixture()
      store = (await fx.open()) as PostgresStore
    })
    afterEach(async () => {
      await fx.cleanup()
    })

    /** one row per migration, in order (the count is the schema's: branches append migrations) */
    const ALL_VERSIONS = Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => ({ version: i + 1 }))
    it('creates its schema with a schema_version row; reopening does not migrate again', async () => {
      await fx.open()
      const versions = await withPg((c) => c.query(`SELECT version FROM "${fx.schema}".schema_version ORDER BY version`))
      expect(versions.rows).toEqual(ALL_VERSIONS)
    })

    it('servers starting together on a fresh schema migrate exactly once', async () => {
      const fresh = pgFixture()
      try {
        await Promise.all([fresh.open(), fresh.open(), fresh.open()])
        const versions = await withPg((c) => c.query(`SELECT version FROM "${fresh.schema}".schema_version ORDER BY version`))
        expect(versions.rows).toEqual(ALL_VERSIONS)
      } finally {
        await fresh.cleanup()
      }
    })

    it('refuses a schema migrated by a newer server', async () => {
      await withPg((c) => c.query(`INSERT INTO "${fx.schema}".schema_version (version) VALUES (99)`))
      await expect(fx.open()).rejects.toThrow(/newer than this server knows/)
    })

    it('refuses a schema name that is not a plain identifier', async () => {
      await expect(createPostgresStore({ url: pgUrl, schema: 'x"; DROP TABLE y; --' })).rejects.toThrow(/schema name/)
    })

    it('appends take the room write lock, and statement_timeout bounds every pooled statement', async () => {
      const slow = await createPostgresStore({ url: pgUrl, schema: fx.schema, poolMax: 2, statementTimeoutMs: 300 })
      try {
        const message = await withPg(async (c) => {
          // Another writer (a second server) is inside a transaction on room 'locked'.
          await c.query('BEGIN')
          await c.query('SELECT pg_advisory_xact_lock($1, $2)', roomLockKey(fx.schema, 'locked'))
          try {
            // Other rooms are not blocked...
            await slow.append([{ room: 'free', update: bytes('x') }])
            // ...this one waits for the lock, and the per-connection statement_timeout ends the wait.
            await slow.append([{ room: 'locked', update: bytes('x') }])
            return 'no error'
          } catch (err) {
            return (err as Error).message
          } finally {
            await c.query('ROLLBACK')
          }
        })
        expect(message).toMatch(/statement timeout/)
        // Nothing was committed by the timed-out append; the connection is usable again.
        expect((await slow.load('locked')).updates).toEqual([])
        await slow.append([{ room: 'locked', update: bytes('y') }])
        expect((await slow.load('locked')).updates).toHaveLength(1)
      } finally {
        await slow.close()
      }
    })

    it('loadSince returns the rows after a seq, or the snapshot when compaction passed it', async () => {
      const ed = editor()
      const seqs = await store.append(['a', 'b', 'c', 'd'].map((s) => ({ room: 'ls', update: ed.insert(s) })))
      const since1 = await store.loadSince('ls', seqs[1]!)
      expect(since1.snapshot).toBeNull()
      expect(since1.updates.map((u) => u.seq)).toEqual(seqs.slice(2))

      await store.compact('ls', Y.encodeStateAsUpdate(ed.doc), seqs[2]!)
      const since0 = await store.loadSince('ls', seqs[0]!)
      expect(since0.snapshot?.seq).toBe(seqs[2])
      expect(since0.updates.map((u) => u.seq)).toEqual([seqs[3]])
      const sinceLast = await store.loadSince('ls', seqs[3]!)
      expect(sinceLast).toEqual({ snapshot: null, updates: [] })
      const sinceSnap = await store.loadSince('ls', seqs[2]!)
      expect(sinceSnap.snapshot).toBeNull()
      expect(sinceSnap.updates.map((u) => u.seq)).toEqual([seqs[3]])
    })

    // Regression: several servers hold one room. A server whose doc had not yet received another
    // server's committed row (fan-out in flight, or lost in a Redis outage) compacted "through" a
    // later seq, deleting that row while its snapshot lacked it: silent data loss.
    it('compact never loses a row the caller\'s snapshot lacks', async () => {
      const serverA = editor()
      const serverB = editor()
      const [fromB] = await store.append([{ room: 'shared', update: serverB.insert('from B; ') }])
      const [fromA] = await store.append([{ room: 'shared', update: serverA.insert('from A') }])
      expect(fromA).toBeGreaterThan(fromB!)
      // A never saw B's row, yet compacts through its own later seq.
      await store.compact('shared', Y.encodeStateAsUpdate(serverA.doc), fromA!)
      const loaded = await store.load('shared')
      expect(loaded.updates).toEqual([])
      const text = textOf(loaded)
      expect(text).toContain('from B; ')
      expect(text).toContain('from A')

      // And a slower server compacting through an older seq afterwards keeps both, seq never moves back.
      await store.compact('shared', Y.encodeStateAsUpdate(serverB.doc), fromB!)
      const again = await store.load('shared')
      expect(again.snapshot?.seq).toBe(fromA)
      expect(textOf(again)).toBe(text)
    })

    it('compact quarantines an unreadable stored row instead of failing forever', async () => {
      const ed = editor()
      const [good] = await store.append([{ room: 'bad', update: ed.insert('ok') }])
      const [garbage] = await store.append([{ room: 'bad', update: new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]) }])
      await store.compact('bad', Y.encodeStateAsUpdate(ed.doc), garbage!)
      const loaded = await store.load('bad')
      expect(textOf(loaded)).toBe('ok')
      expect(loaded.updates).toEqual([])
      const q = await withPg((c) => c.query(`SELECT seq::int AS seq, reason FROM "${fx.schema}".quarantine WHERE room = 'bad'`))
      expect(q.rows).toEqual([{ seq: garbage, reason: 'unreadable at compaction' }])
      expect(good).toBeLessThan(garbage!)
    })

    it('a database that cannot be reached fails the start with the driver error', async () => {
      const u = new URL(pgUrl)
      u.port = '1'
      await expect(createPostgresStore({ url: u.toString(), schema: fx.schema, poolMax: 1, connectTimeoutMs: 1_000 })).rejects.toThrow(
        /ECONNREFUSED|connect/,
      )
    })
  })
})
