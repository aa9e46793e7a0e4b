import type pg from 'pg'
import { metaOf, type UploadMeta, type UploadStore } from './uploads.js'

/**
 * The PostgreSQL store's uploads table (the SQLite twin is sqlite-uploads.ts). An upload is
 * written under the room's advisory lock (the one appends take), so the quota check and the
 * insert are one step for every server sharing the database.
 */

/** The migration that creates it (postgres-schema.ts appends it to MIGRATIONS). */
export const UPLOADS_MIGRATION = (s: string): string => `
  CREATE TABLE ${s}.uploads (
    room   text NOT NULL,
    id     text NOT NULL,
    type   text NOT NULL,
    bytes  integer NOT NULL,
    width  integer,
    height integer,
    at     timestamptz NOT NULL DEFAULT now(),
    data   bytea NOT NULL,
    PRIMARY KEY (room, id)
  );`

interface Deps {
  pool: pg.Pool
  s: string
  /** a write transaction through the store's write-health bookkeeping */
  tx: <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>
  lockRoom: (c: pg.PoolClient, room: string) => Promise<unknown>
}

export function createPostgresUploads({ pool, s, tx, lockRoom }: Deps): UploadStore {
  return {
    put: (room, u, quotaBytes) =>
      tx(async (c) => {
        await lockRoom(c, room)
        const existing = await c.query<UploadMeta>(`SELECT id, type, bytes, width, height FROM ${s}.uploads WHERE room = $1 AND id = $2`, [room, u.id])
        if (existing.rows[0]) return { stored: true, created: false, meta: metaOf(existing.rows[0]) }
        const used = await c.query<{ used: string }>(`SELECT coalesce(sum(bytes), 0)::bigint AS used FROM ${s}.uploads WHERE room = $1`, [room])
        const usedBytes = Number(used.rows[0]!.used)
        if (usedBytes + u.bytes > quotaBytes) return { stored: false, usedBytes }
        await c.query(`INSERT INTO ${s}.uploads (room, id, type, bytes, width, height, data) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
          room,
          u.id,
          u.type,
          u.bytes,
          u.width,
          u.height,
          Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength),
        ])
        return { stored: true, created: true, meta: metaOf(u) }
      }),
    get: async (room, id) => {
      const r = await pool.query<UploadMeta & { data: Buffer }>(`SELECT id, type, bytes, width, height, data FROM ${s}.uploads WHERE room = $1 AND id = $2`, [room, id])
      const row = r.rows[0]
      return row ? { ...metaOf(row), data: row.data } : undefined
    },
  }
}
