import { afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { createSqliteStore } from '../../src/store/sqlite.js'
import { SCHEMA_VERSION } from '../../src/store/sqlite-schema.js'

// A file written by a Tandem before schema versioning (the log as a rowid table with AUTOINCREMENT
// and an index) must open with every row, snapshot and quarantined row intact, and new seqs must
// continue above every seq handed out before, including rows compaction has since deleted.

const V1 = `
  CREATE TABLE updates (seq INTEGER PRIMARY KEY AUTOINCREMENT, room TEXT NOT NULL, data BLOB NOT NULL);
  CREATE INDEX updates_room_seq ON updates (room, seq);
  CREATE TABLE snapshots (room TEXT PRIMARY KEY, seq INTEGER NOT NULL, data BLOB NOT NULL);
  CREATE TABLE quarantine (room TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL DEFAULT (datetime('now')));
`

let dir: string | undefined
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

const bytes = (...b: number[]) => Buffer.from(b)

describe('SQLite schema migration', () => {
  it('moves a version-1 log into the (room, seq) table with nothing lost and no seq reused', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-migrate-'))
    const file = join(dir, 'tandem.sqlite')
    const old = new Database(file)
    old.pragma('journal_mode = WAL')
    old.exec(V1)
    const ins = old.prepare('INSERT INTO updates (room, data) VALUES (?, ?)')
    for (let i = 1; i <= 6; i++) ins.run(i % 2 ? 'odd' : 'even', bytes(i)) // seqs 1..6
    // Room "even" compacted through seq 6 (its rows deleted), then two more rows were written
    // and the newest one deleted again: AUTOINCREMENT remembers 8, no table shows it.
    old.prepare('INSERT INTO snapshots (room, seq, data) VALUES (?, ?, ?)').run('even', 6, bytes(60))
    old.prepare("DELETE FROM updates WHERE room = 'even'").run()
    ins.run('odd', bytes(7))
    ins.run('odd', bytes(8))
    old.prepare('DELETE FROM updates WHERE seq = 8').run()
    old.prepare('INSERT INTO quarantine (room, seq, data, reason) VALUES (?, ?, ?, ?)').run('odd', 3, bytes(3), 'test')
    old.prepare('DELETE FROM updates WHERE seq = 3').run()
    old.close()

    const store = createSqliteStore({ dataDir: dir, synchronous: 'NORMAL', checkpointIntervalMs: 0 })
    try {
      const odd = await store.load('odd')
      expect(odd.snapshot).toBeNull()
      expect(odd.updates.map((r) => [r.seq, [...r.data]])).toEqual([
        [1, [1]],
        [5, [5]],
        [7, [7]],
      ])
      const even = await store.load('even')
      expect(even.snapshot).toMatchObject({ seq: 6 })
      expect([...even.snapshot!.data]).toEqual([60])
      expect(even.updates).toEqual([])
      // Above AUTOINCREMENT's 8, though the highest seq left in any table is 7.
      expect(await store.append([{ room: 'odd', update: bytes(9) }, { room: 'even', update: bytes(10) }])).toEqual([9, 10])
      expect((await store.load('even')).updates.map((r) => r.seq)).toEqual([10])
    } finally {
      await store.close()
    }

    const check = new Database(file, { readonly: true })
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
    const tables = check.prepare("SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name").all() as { name: string; sql: string | null }[]
    expect(tables.map((t) => t.name)).not.toContain('updates_v1')
    expect(tables.map((t) => t.name)).not.toContain('updates_room_seq')
    expect(tables.find((t) => t.name === 'updates')!.sql).toMatch(/WITHOUT ROWID/)
    expect(check.prepare('SELECT room, seq, reason FROM quarantine').all()).toEqual([{ room: 'odd', seq: 3, reason: 'test' }])
    check.close()
  })

  it('continues seqs above everything stored across restarts of a version-2 file', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-migrate-'))
    const open = () => createSqliteStore({ dataDir: dir!, synchronous: 'NORMAL', checkpointIntervalMs: 0 })
    let store = open()
    expect(await store.append([{ room: 'a', update: bytes(1) }, { room: 'b', update: bytes(2) }])).toEqual([1, 2])
    // Compaction deletes the log of "b" through its snapshot: seq 2 must still never come back.
    await store.compact('b', bytes(20), 2)
    await store.close()
    store = open()
    expect(await store.append([{ room: 'b', update: bytes(3) }])).toEqual([3])
    await store.close()
  })

  it('a version-2 file gains version 3\'s time columns in place: rows kept, their times unknown', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-migrate-'))
    const old = new Database(join(dir, 'tandem.sqlite'))
    old.exec(`
      CREATE TABLE updates (room TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (room, seq)) WITHOUT ROWID;
      CREATE TABLE snapshots (room TEXT PRIMARY KEY, seq INTEGER NOT NULL, data BLOB NOT NULL);
      CREATE TABLE quarantine (room TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL DEFAULT (datetime('now')));
      PRAGMA user_version = 2;`)
    old.prepare('INSERT INTO updates (room, seq, data) VALUES (?, ?, ?)').run('r', 4, bytes(4))
    old.prepare('INSERT INTO snapshots (room, seq, data) VALUES (?, ?, ?)').run('s', 3, bytes(3))
    old.close()
    const store = createSqliteStore({ dataDir: dir, synchronous: 'NORMAL', checkpointIntervalMs: 0 })
    try {
      expect((await store.load('r')).updates.map((u) => [u.seq, [...u.data]])).toEqual([[4, [4]]])
      expect(await store.listRooms({ prefix: '', after: undefined, limit: 10 })).toEqual([
        { room: 'r', bytes: 1, createdAt: undefined, updatedAt: undefined },
        { room: 's', bytes: 1, createdAt: undefined, updatedAt: undefined },
      ])
      expect(await store.append([{ room: 'r', update: bytes(5) }])).toEqual([5])
      const [r] = await store.listRooms({ prefix: 'r', after: undefined, limit: 1 })
      expect(r!.createdAt).toEqual(expect.any(Number))
    } finally {
      await store.close()
    }
  })

  it('refuses a file from a newer schema instead of guessing', () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-migrate-'))
    const db = new Database(join(dir, 'tandem.sqlite'))
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    db.close()
    expect(() => createSqliteStore({ dataDir: dir!, synchronous: 'NORMAL', checkpointIntervalMs: 0 })).toThrow(/newer Tandem/)
  })
})
