import type pg from 'pg'
import type { AppendEntry, RoomInfo } from './types.js'

/**
 * The PostgreSQL store's per-room reads and the room deletion (the SQLite twin is
 * sqlite-rooms.ts): last seq (conditional appends), the room listing, the times a compaction
 * folds into the snapshot. `s` is the quoted schema.
 */

/**
 * Migration 2: times for the listing. A log row's `at` defaults to the committing transaction's
 * time, so the append statement is unchanged (and servers still running the previous version
 * write it too); a snapshot gets the first and latest `at` of the rows it folded. Rows stored
 * before have none (NULL).
 */
export const ROOM_TIMES_MIGRATION = (s: string): string => `
  ALTER TABLE ${s}.updates ADD COLUMN at timestamptz;
  ALTER TABLE ${s}.updates ALTER COLUMN at SET DEFAULT now();
  ALTER TABLE ${s}.snapshots ADD COLUMN created_at timestamptz, ADD COLUMN updated_at timestamptz;`

export interface ListRow {
  room: string
  bytes: string | number
  created_at: Date | null
  updated_at: Date | null
}

export function roomQueries(s: string) {
  return {
    lastSeq: `SELECT GREATEST(COALESCE((SELECT max(seq) FROM ${s}.updates WHERE room = $1), 0),
                              COALESCE((SELECT seq FROM ${s}.snapshots WHERE room = $1), 0)) AS seq`,
    // $1 after (NULL = from the start), $2 prefix, $3 limit. Each branch walks its table's index in
    // name order (the column's collation: stable, and the same for `>` and ORDER BY) and stops at
    // $3 names. LEAST/GREATEST ignore NULLs.
    list: `
      WITH names AS (
        (SELECT DISTINCT room FROM ${s}.updates
          WHERE ($1::text IS NULL OR room > $1) AND starts_with(room, $2) ORDER BY room LIMIT $3)
        UNION
        (SELECT room FROM ${s}.snapshots
          WHERE ($1::text IS NULL OR room > $1) AND starts_with(room, $2) ORDER BY room LIMIT $3)
      )
      SELECT n.room,
             COALESCE(sn.bytes, 0) + COALESCE(u.bytes, 0) AS bytes,
             LEAST(sn.created_at, u.first) AS created_at,
             GREATEST(sn.updated_at, u.last) AS updated_at
        FROM (SELECT room FROM names ORDER BY room LIMIT $3) n
        LEFT JOIN LATERAL (SELECT octet_length(data) AS bytes, created_at, updated_at
                             FROM ${s}.snapshots WHERE room = n.room) sn ON true
        LEFT JOIN LATERAL (SELECT sum(octet_length(data)) AS bytes, min(at) AS first, max(at) AS last
                             FROM ${s}.updates WHERE room = n.room) u ON true
       ORDER BY n.room`,
    /** Inside compact's transaction, after the snapshot is written and before the rows go. */
    foldTimes: `
      UPDATE ${s}.snapshots sn
         SET created_at = LEAST(sn.created_at, r.first), updated_at = GREATEST(sn.updated_at, r.last)
        FROM (SELECT min(at) AS first, max(at) AS last FROM ${s}.updates WHERE room = $1 AND seq <= $2) r
       WHERE sn.room = $1`,
    deletes: ['updates', 'snapshots', 'quarantine', 'versions', 'uploads'].map((t) => `DELETE FROM ${s}.${t} WHERE room = $1`),
    toInfos: (rows: ListRow[]): RoomInfo[] =>
      rows.map((r) => ({
        room: r.room,
        bytes: Number(r.bytes),
        createdAt: r.created_at?.getTime(),
        updatedAt: r.updated_at?.getTime(),
      })),
  }
}

/**
 * Which entries may be written (AppendEntry.ifLastSeq), in the append's transaction after the
 * room locks are taken; undefined when no entry has a condition (the usual append: no query).
 * An entry whose room an earlier entry of the same call writes cannot find the seq it expects.
 */
export async function conditionsHeld(
  c: pg.PoolClient,
  q: { lastSeq: string },
  entries: readonly AppendEntry[],
): Promise<boolean[] | undefined> {
  if (!entries.some((e) => e.ifLastSeq !== undefined)) return undefined
  const written = new Set<string>()
  const held: boolean[] = []
  for (const e of entries) {
    let ok = true
    if (e.ifLastSeq !== undefined) {
      ok = !written.has(e.room) && Number((await c.query<{ seq: string }>(q.lastSeq, [e.room])).rows[0]!.seq) === e.ifLastSeq
    }
    if (ok) written.add(e.room)
    held.push(ok)
  }
  return held
}
