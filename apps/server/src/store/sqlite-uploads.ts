import type Database from 'better-sqlite3'
import { metaOf, type StoredUpload, type UploadMeta, type UploadStore } from './uploads.js'

/**
 * The SQLite store's uploads table (store/uploads.ts says what an upload is). Created by
 * sqlite-schema.ts (version 6); deleted with the room (sqlite-rooms.ts). A rowid table, not
 * WITHOUT ROWID: its rows are large (images), which WITHOUT ROWID b-trees store badly.
 */
export const UPLOADS_TABLE = `
  CREATE TABLE IF NOT EXISTS uploads (
    room   TEXT    NOT NULL,
    id     TEXT    NOT NULL,
    type   TEXT    NOT NULL,
    bytes  INTEGER NOT NULL,
    width  INTEGER,
    height INTEGER,
    at     INTEGER NOT NULL,
    data   BLOB    NOT NULL
  );
  CREATE UNIQUE INDEX IF NOT EXISTS uploads_room_id ON uploads (room, id);
`

type Row = UploadMeta & { data?: Buffer }

/** `written` runs a write through the store's write-health bookkeeping (sqlite.ts). */
export function createSqliteUploads(db: Database.Database, written: <T>(bytes: number, write: () => T) => T): UploadStore {
  const meta = db.prepare<[string, string], Row>('SELECT id, type, bytes, width, height FROM uploads WHERE room = ? AND id = ?')
  const full = db.prepare<[string, string], Row>('SELECT id, type, bytes, width, height, data FROM uploads WHERE room = ? AND id = ?')
  const used = db.prepare<[string], number>('SELECT coalesce(sum(bytes), 0) FROM uploads WHERE room = ?').pluck()
  const insert = db.prepare<[string, string, string, number, number | null, number | null, number, Buffer]>(
    'INSERT INTO uploads (room, id, type, bytes, width, height, at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  )
  const putTx = db.transaction((room: string, u: StoredUpload, quotaBytes: number) => {
    const existing = meta.get(room, u.id)
    if (existing) return { stored: true as const, created: false, meta: metaOf(existing) }
    const usedBytes = used.get(room) ?? 0
    if (usedBytes + u.bytes > quotaBytes) return { stored: false as const, usedBytes }
    insert.run(room, u.id, u.type, u.bytes, u.width, u.height, Date.now(), Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength))
    return { stored: true as const, created: true, meta: metaOf(u) }
  })
  return {
    // IMMEDIATE: the write lock before the quota is read, so two connections cannot both pass it.
    put: async (room, upload, quotaBytes) => written(upload.bytes, () => putTx.immediate(room, upload, quotaBytes)),
    get: async (room, id) => {
      const r = full.get(room, id)
      return r ? { ...metaOf(r), data: r.data! } : undefined
    },
  }
}
