import type pg from 'pg'
import {
  attribution,
  mergeAuthors,
  packState,
  parseAuthors,
  unpackState,
  type TakeOptions,
  type VersionKind,
  type VersionMeta,
  type VersionStore,
} from './versions.js'

/**
 * The PostgreSQL store's versions table (the SQLite twin is sqlite-versions.ts). A version is
 * written under the room's advisory lock (the one appends and compactions take), so the check
 * "no version covers this seq yet" and the insert are one step for every server sharing the
 * database: one automatic version per burst, whichever server tries first.
 */

/** The migration that creates it (postgres-schema.ts appends it to MIGRATIONS). */
export const VERSIONS_MIGRATION = (s: string): string => `
  CREATE TABLE ${s}.versions (
    id      bigserial PRIMARY KEY,
    room    text NOT NULL,
    seq     bigint NOT NULL,
    at      timestamptz NOT NULL,
    name    text,
    kind    text NOT NULL,
    authors jsonb NOT NULL DEFAULT '[]',
    size    integer NOT NULL,
    state   bytea NOT NULL
  );
  CREATE INDEX versions_room_id ON ${s}.versions (room, id);`

interface Row {
  id: string
  room: string
  seq: string
  at: Date
  name: string | null
  kind: string
  authors: unknown
  size: number
}

const COLUMNS = 'id, room, seq, at, name, kind, authors, size'

const toMeta = (r: Row): VersionMeta => ({
  id: Number(r.id),
  room: r.room,
  seq: Number(r.seq),
  at: r.at.getTime(),
  name: r.name,
  kind: r.kind as VersionKind,
  authors: Array.isArray(r.authors) ? (r.authors as VersionMeta['authors']) : parseAuthors(String(r.authors)),
  size: Number(r.size),
})

export interface PostgresVersionDeps {
  pool: pg.Pool
  /** quoted schema */
  s: string
  /** a write transaction (write health, retries) */
  tx: <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>
  /** the room's advisory lock, inside `tx` */
  lockRoom: (c: pg.PoolClient, room: string) => Promise<unknown>
}

export function createPostgresVersions({ pool, s, tx, lockRoom }: PostgresVersionDeps): VersionStore {
  const sql = {
    covering: `SELECT max(seq) AS seq, max(at) AS at FROM ${s}.versions WHERE room = $1`,
    insert: `INSERT INTO ${s}.versions (room, seq, at, name, kind, size, state)
             VALUES ($1, $2, to_timestamp($3::float8 / 1000), $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    since: `SELECT id, seq, authors FROM ${s}.versions WHERE room = $1 AND seq >= $2 ORDER BY seq, id`,
    setAuthors: `UPDATE ${s}.versions SET authors = $2::jsonb WHERE id = $1`,
    setName: `UPDATE ${s}.versions SET name = $3 WHERE room = $1 AND id = $2 RETURNING ${COLUMNS}`,
    page: `SELECT ${COLUMNS} FROM ${s}.versions WHERE room = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
    withState: `SELECT ${COLUMNS}, state FROM ${s}.versions WHERE room = $1 AND id = $2`,
    remove: `DELETE FROM ${s}.versions WHERE room = $1 AND id = ANY($2::int8[])`,
    rooms: `SELECT DISTINCT room FROM ${s}.versions WHERE room > $1 ORDER BY room LIMIT $2`,
  }

  async function take(v: Parameters<VersionStore['take']>[0], opts: TakeOptions): ReturnType<VersionStore['take']> {
    const packed = await packState(v.state)
    return tx(async (c) => {
      await lockRoom(c, v.room)
      let made: VersionMeta | undefined
      let due = true
      const last = (await c.query<{ seq: string | null; at: Date | null }>(sql.covering, [v.room])).rows[0]
      const lastSeq = Number(last?.seq ?? 0)
      if (opts.auto) {
        due = Number(last?.seq ?? 0) < v.seq && (opts.auto.minGapMs === undefined || !last?.at || v.at - last.at.getTime() >= opts.auto.minGapMs)
      }
      if (due) {
        const res = await c.query<Row>(sql.insert, [v.room, v.seq, v.at, v.name, v.kind, v.state.byteLength, packed])
        made = toMeta(res.rows[0]!)
      }
      if (opts.authors.length > 0) {
        const min = Math.min(...opts.authors.map((a) => a.seq))
        const rows = (await c.query<{ id: string; seq: string; authors: unknown }>(sql.since, [v.room, min])).rows
        const versions = rows.map((r) => ({ id: Number(r.id), seq: Number(r.seq), authors: r.authors }))
        for (const [id, authors] of attribution(versions, opts.authors)) {
          const row = versions.find((x) => x.id === id)!
          const merged = mergeAuthors(Array.isArray(row.authors) ? (row.authors as VersionMeta['authors']) : [], authors)
          await c.query(sql.setAuthors, [id, JSON.stringify(merged)])
          if (made?.id === id) made = { ...made, authors: merged }
        }
      }
      return { version: made, coveredSeq: Math.max(lastSeq, made ? v.seq : 0) }
    })
  }

  return {
    take,
    list: async (room, { beforeId, limit }) =>
      (await pool.query<Row>(sql.page, [room, beforeId ?? Number.MAX_SAFE_INTEGER, limit])).rows.map(toMeta),
    get: async (room, id) => {
      const r = (await pool.query<Row & { state: Buffer }>(sql.withState, [room, id])).rows[0]
      return r ? { meta: toMeta(r), state: await unpackState(r.state) } : undefined
    },
    rename: async (room, id, name) => {
      const r = await tx(async (c) => (await c.query<Row>(sql.setName, [room, id, name])).rows[0])
      return r ? toMeta(r) : undefined
    },
    remove: async (room, ids) => {
      if (ids.length === 0) return
      await tx((c) => c.query(sql.remove, [room, ids.map(String)]))
    },
    rooms: async (after, limit) => (await pool.query<{ room: string }>(sql.rooms, [after ?? '', limit])).rows.map((r) => r.room),
  }
}
