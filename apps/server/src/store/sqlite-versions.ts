import type Database from 'better-sqlite3'
import {
  attribution,
  mergeAuthors,
  packState,
  parseAuthors,
  unpackState,
  type NewVersion,
  type TakeOptions,
  type VersionKind,
  type VersionMeta,
  type VersionStore,
} from './versions.js'

/**
 * The SQLite store's versions table (store/versions.ts says what a version is). Created by
 * sqlite-schema.ts (version 5); deleted with the room (sqlite-rooms.ts).
 */
export const VERSIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS versions (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    room    TEXT    NOT NULL,
    seq     INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    name    TEXT,
    kind    TEXT    NOT NULL,
    authors TEXT    NOT NULL DEFAULT '[]',
    size    INTEGER NOT NULL,
    state   BLOB    NOT NULL
  );
  CREATE INDEX IF NOT EXISTS versions_room_id ON versions (room, id);
`

interface Row {
  id: number
  room: string
  seq: number
  at: number
  name: string | null
  kind: string
  authors: string
  size: number
}

const COLUMNS = 'id, room, seq, at, name, kind, authors, size'

const toMeta = (r: Row): VersionMeta => ({
  id: Number(r.id),
  room: r.room,
  seq: Number(r.seq),
  at: Number(r.at),
  name: r.name,
  kind: r.kind as VersionKind,
  authors: parseAuthors(r.authors),
  size: Number(r.size),
})

/** `written` runs a write through the store's write-health bookkeeping (sqlite.ts). */
export function createSqliteVersions(db: Database.Database, written: <T>(bytes: number, write: () => T) => T): VersionStore {
  const covering = db.prepare<[string], { seq: number | null; at: number | null }>('SELECT max(seq) AS seq, max(at) AS at FROM versions WHERE room = ?')
  const insert = db.prepare<[string, number, number, string | null, string, number, Buffer]>(
    'INSERT INTO versions (room, seq, at, name, kind, size, state) VALUES (?, ?, ?, ?, ?, ?, ?)',
  )
  const byId = db.prepare<[string, number], Row>(`SELECT ${COLUMNS} FROM versions WHERE room = ? AND id = ?`)
  const withState = db.prepare<[string, number], Row & { state: Buffer }>(`SELECT ${COLUMNS}, state FROM versions WHERE room = ? AND id = ?`)
  const since = db.prepare<[string, number], { id: number; seq: number; authors: string }>(
    'SELECT id, seq, authors FROM versions WHERE room = ? AND seq >= ? ORDER BY seq, id',
  )
  const setAuthors = db.prepare<[string, number]>('UPDATE versions SET authors = ? WHERE id = ?')
  const setName = db.prepare<[string | null, string, number]>('UPDATE versions SET name = ? WHERE room = ? AND id = ?')
  const page = db.prepare<[string, number, number], Row>(`SELECT ${COLUMNS} FROM versions WHERE room = ? AND id < ? ORDER BY id DESC LIMIT ?`)
  const del = db.prepare<[string, number]>('DELETE FROM versions WHERE room = ? AND id = ?')
  const roomsAfter = db.prepare<[string, number], string>('SELECT DISTINCT room FROM versions WHERE room > ? ORDER BY room LIMIT ?').pluck()

  const takeTx = db.transaction((v: NewVersion, packed: Buffer, opts: TakeOptions) => {
    let id: number | undefined
    const last = covering.get(v.room)
    const due =
      !opts.auto ||
      ((last?.seq ?? 0) < v.seq && (opts.auto.minGapMs === undefined || last?.at == null || v.at - last.at >= opts.auto.minGapMs))
    if (due) id = Number(insert.run(v.room, v.seq, v.at, v.name, v.kind, v.state.byteLength, packed).lastInsertRowid)
    if (opts.authors.length > 0) {
      const min = Math.min(...opts.authors.map((a) => a.seq))
      const versions = since.all(v.room, min)
      for (const [vid, authors] of attribution(versions, opts.authors)) {
        const row = versions.find((x) => x.id === vid)!
        setAuthors.run(JSON.stringify(mergeAuthors(parseAuthors(row.authors), authors)), vid)
      }
    }
    return { version: id === undefined ? undefined : toMeta(byId.get(v.room, id)!), coveredSeq: Math.max(last?.seq ?? 0, id === undefined ? 0 : v.seq) }
  })

  return {
    take: async (v, opts) => {
      const packed = await packState(v.state)
      // IMMEDIATE: the write lock before the check, so two connections to the file cannot both pass it.
      return written(packed.byteLength, () => takeTx.immediate(v, packed, opts))
    },
    list: async (room, { beforeId, limit }) => page.all(room, beforeId ?? Number.MAX_SAFE_INTEGER, limit).map(toMeta),
    get: async (room, id) => {
      const r = withState.get(room, id)
      return r ? { meta: toMeta(r), state: await unpackState(r.state) } : undefined
    },
    rename: async (room, id, name) => {
      written(0, () => setName.run(name, room, id))
      const r = byId.get(room, id)
      return r ? toMeta(r) : undefined
    },
    remove: async (room, ids) => {
      if (ids.length === 0) return
      written(0, () => db.transaction(() => ids.forEach((id) => del.run(room, id)))())
    },
    rooms: async (after, limit) => roomsAfter.all(after ?? '', limit),
  }
}
