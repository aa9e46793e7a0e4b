import type Database from 'better-sqlite3'
import { VERSIONS_TABLE } from './sqlite-versions.js'
import { UPLOADS_TABLE } from './sqlite-uploads.js'

/**
 * The SQLite store's tables, and the migrations so far. `PRAGMA user_version` says which
 * layout a file has: 0 = created before versioning (or brand new), 2 = the (room, seq) log, 3 =
 * times, 4 = the webhook outbox, 5 = versions, 6 = this one.
 *
 * Version 2 keys the update log by (room, seq) in a WITHOUT ROWID table, with seqs assigned by
 * the store: a commit then writes one b-tree leaf instead of a table leaf, an index leaf and
 * sqlite_sequence's page (AUTOINCREMENT), i.e. 2.1 WAL pages instead of 3.25 and ~25 % less
 * time per commit (measured with 20,000 one-row commits).
 *
 * Version 3 records times for the room listing (GET /api/rooms): each log row's `at` (ms, written
 * with the row: no extra page per commit, unlike a per-room table updated on every append), and on
 * a snapshot the first and latest `at` of the rows it folded (`created_at`, `updated_at`). Rows
 * stored before version 3 have none (NULL).
 *
 * Version 4 adds the webhook outbox (store/outbox.ts, store/sqlite-outbox.ts): `webhook_changes`,
 * one row per room with changes not yet announced, and `webhook_outbox`, one row per event and
 * receiver. Both stay empty unless WEBHOOK_URL is set; the update log is unchanged. With webhooks
 * on, a commit also writes its rooms' change rows (WITHOUT ROWID: one b-tree, no separate key
 * index to write): the cost per commit is measured by bench/src/outbox-bench.mjs (one-row
 * commits), numbers in docs/architecture.md "Webhooks".
 * Version 5 adds the versions table (version history, store/sqlite-versions.ts): created if
 * missing, so a file of version 3 or 4 gains it on open; nothing else changes.
 * Version 6 adds the uploads table (uploaded images, store/sqlite-uploads.ts), the same way.
 *
 * health_probe came later without a version bump: it holds no document data, is created if
 * missing on every open, and a server that does not know it ignores it.
 */
export const SCHEMA_VERSION = 6

const TABLES = `
  CREATE TABLE IF NOT EXISTS updates (
    room TEXT    NOT NULL,
    seq  INTEGER NOT NULL,
    data BLOB    NOT NULL,
    at   INTEGER,
    PRIMARY KEY (room, seq)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS snapshots (
    room TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL,
    data BLOB NOT NULL,
    created_at INTEGER,
    updated_at INTEGER
  );
  CREATE TABLE IF NOT EXISTS quarantine (
    room   TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    data   BLOB NOT NULL,
    reason TEXT NOT NULL,
    at     TEXT NOT NULL DEFAULT (datetime('now'))
  );
  -- One row, rewritten by the health probe while writes are failing (sqlite.ts): no document data.
  CREATE TABLE IF NOT EXISTS health_probe (
    id  INTEGER PRIMARY KEY,
    at  INTEGER NOT NULL,
    pad BLOB NOT NULL
  );
  -- Version 4: the webhook outbox (sqlite-outbox.ts); empty unless WEBHOOK_URL is set.
  CREATE TABLE IF NOT EXISTS webhook_changes (
    room      TEXT PRIMARY KEY,
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL,
    authors   TEXT NOT NULL,
    first_at  INTEGER NOT NULL,
    last_at   INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS webhook_outbox (
    id          INTEGER PRIMARY KEY,
    event_id    TEXT NOT NULL,
    url         TEXT NOT NULL,
    room        TEXT NOT NULL,
    type        TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,
    lease_until INTEGER NOT NULL DEFAULT 0,
    state       TEXT NOT NULL DEFAULT 'pending',
    last_error  TEXT
  );
  CREATE INDEX IF NOT EXISTS webhook_outbox_room ON webhook_outbox (url, room, id) WHERE state = 'pending';
`

/**
 * Creates or migrates the tables (in one transaction: a crash mid-migration leaves the old
 * layout intact) and returns the highest seq ever handed out.
 *
 * Seqs must never be reused: a room's snapshot records the seq it covers, and a reused seq at
 * or below it would be skipped on load. Every seq handed out is still visible somewhere: a log
 * row, or a snapshot's seq (compaction deletes only rows at or below the snapshot it writes in
 * the same transaction), or a quarantined row. Version 1's AUTOINCREMENT counter is read too,
 * in case it ran ahead of all of them.
 */
export function openSchema(db: Database.Database): number {
  return db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number
    if (version > SCHEMA_VERSION) {
      throw new Error(`the SQLite file was written by a newer Tandem (schema ${version}; this one knows up to ${SCHEMA_VERSION})`)
    }
    let floor = 0
    if (version < 2 && hasTable(db, 'updates')) {
      // Version 1: updates(seq INTEGER PRIMARY KEY AUTOINCREMENT, room, data) + index (room, seq).
      if (hasTable(db, 'sqlite_sequence')) {
        const row = db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'updates'").get()
        floor = row?.seq ?? 0
      }
      db.exec('ALTER TABLE updates RENAME TO updates_v1')
      db.exec(TABLES)
      db.exec('INSERT INTO updates (room, seq, data) SELECT room, seq, data FROM updates_v1')
      db.exec('DROP TABLE updates_v1') // and its index
    } else {
      db.exec(TABLES)
    }
    db.exec(VERSIONS_TABLE)
    db.exec(UPLOADS_TABLE)
    // Version 3's columns, on tables an older version created (CREATE IF NOT EXISTS kept them).
    addColumn(db, 'updates', 'at', 'INTEGER')
    addColumn(db, 'snapshots', 'created_at', 'INTEGER')
    addColumn(db, 'snapshots', 'updated_at', 'INTEGER')
    db.pragma(`user_version = ${SCHEMA_VERSION}`)
    return Math.max(floor, highestSeq(db))
  })()
}

/** The highest seq any table shows (a full scan of the log: at open, and after another connection wrote). */
export function highestSeq(db: Database.Database): number {
  const row = db
    .prepare<[], { seq: number | null }>(
      'SELECT max(seq) AS seq FROM (SELECT max(seq) AS seq FROM updates UNION ALL SELECT max(seq) FROM snapshots UNION ALL SELECT max(seq) FROM quarantine)',
    )
    .get()
  return row?.seq ?? 0
}

function addColumn(db: Database.Database, table: string, column: string, type: string): void {
  const columns = db.prepare<[], { name: string }>(`PRAGMA table_info(${table})`).all()
  if (!columns.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`)
}

const hasTable = (db: Database.Database, name: string) =>
  db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined
