import type Database from 'better-sqlite3'
import type { ListRoomsQuery, RoomInfo } from './types.js'

/**
 * The SQLite store's per-room reads and the room deletion: last seq (conditional appends), the
 * room listing, the times a compaction folds into the snapshot, and removing a room. Statements
 * prepared once; callers run them inside their own transactions where it matters (append,
 * compact) and these open their own otherwise.
 */
export function prepareRoomQueries(db: Database.Database) {
  const lastSeqOf = db
    .prepare<[string, string], number>(
      'SELECT max(coalesce((SELECT max(seq) FROM updates WHERE room = ?), 0), coalesce((SELECT seq FROM snapshots WHERE room = ?), 0))',
    )
    .pluck()
  // Each branch walks its table's index in name order and stops at `limit` names; the union of
  // the two is cut to `limit` again. `upper` bounds the index range of the prefix (see prefixRange).
  const names = db
    .prepare<{ after: string; prefix: string; upper: string | null; limit: number }, string>(
      `SELECT room FROM (
         SELECT room FROM (SELECT DISTINCT room FROM updates
                            WHERE room > @after AND room >= @prefix AND (@upper IS NULL OR room < @upper)
                              AND substr(room, 1, length(@prefix)) = @prefix
                            ORDER BY room LIMIT @limit)
         UNION
         SELECT room FROM (SELECT room FROM snapshots
                            WHERE room > @after AND room >= @prefix AND (@upper IS NULL OR room < @upper)
                              AND substr(room, 1, length(@prefix)) = @prefix
                            ORDER BY room LIMIT @limit)
       ) ORDER BY room LIMIT @limit`,
    )
    .pluck()
  const logOf = db.prepare<[string], { bytes: number | null; first: number | null; last: number | null }>(
    'SELECT sum(length(data)) AS bytes, min(at) AS first, max(at) AS last FROM updates WHERE room = ?',
  )
  const snapshotOf = db.prepare<[string], { bytes: number; created_at: number | null; updated_at: number | null }>(
    'SELECT length(data) AS bytes, created_at, updated_at FROM snapshots WHERE room = ?',
  )
  const timesThrough = db.prepare<[string, number], { first: number | null; last: number | null }>(
    'SELECT min(at) AS first, max(at) AS last FROM updates WHERE room = ? AND seq <= ?',
  )
  // SQLite's two-argument min/max are NULL when either is: coalesce keeps whichever is known.
  const setTimes = db.prepare<{ room: string; first: number | null; last: number | null }>(
    `UPDATE snapshots SET created_at = coalesce(min(created_at, @first), created_at, @first),
                          updated_at = coalesce(max(updated_at, @last), updated_at, @last)
      WHERE room = @room`,
  )
  const deletes = ['updates', 'snapshots', 'quarantine', 'versions', 'uploads'].map((t) => db.prepare<[string]>(`DELETE FROM ${t} WHERE room = ?`))
  const deleteTx = db.transaction((room: string) => {
    for (const d of deletes) d.run(room)
  })

  const list = db.transaction(({ prefix, after, limit }: ListRoomsQuery): RoomInfo[] =>
    names.all({ after: after ?? '', prefix, upper: prefixRange(prefix), limit }).map((room) => {
      const log = logOf.get(room)
      const snap = snapshotOf.get(room)
      return {
        room,
        bytes: (log?.bytes ?? 0) + (snap?.bytes ?? 0),
        createdAt: least(snap?.created_at, log?.first),
        updatedAt: greatest(snap?.updated_at, log?.last),
      }
    }),
  )

  return {
    lastSeq: (room: string): number => lastSeqOf.get(room, room) ?? 0,
    list: (query: ListRoomsQuery): RoomInfo[] => list(query),
    /** Inside compact's transaction, before the rows through `throughSeq` are deleted. */
    foldTimes(room: string, throughSeq: number): void {
      const t = timesThrough.get(room, throughSeq)
      if (t && (t.first !== null || t.last !== null)) setTimes.run({ room, first: t.first, last: t.last })
    },
    /**
     * One transaction (the write lock: no append interleaves). Seqs stay unique although the
     * highest one may go with the room (sqlite-schema.ts derives the counter from what is left at
     * the next open): nothing of this room is left to confuse with a later row.
     */
    delete: (room: string): void => deleteTx.immediate(room),
  }
}

/**
 * The exclusive upper end of the names starting with `prefix`, in code point order (= UTF-8 byte
 * order, SQLite's BINARY collation): the prefix with its last code point incremented. null when
 * there is none to take (empty prefix, or U+10FFFF last); the substr test alone decides then.
 */
function prefixRange(prefix: string): string | null {
  const points = [...prefix]
  const last = points.pop()
  if (last === undefined) return null
  let cp = last.codePointAt(0)! + 1
  if (cp === 0xd800) cp = 0xe000 // no code point is a surrogate
  if (cp > 0x10ffff) return null
  return points.join('') + String.fromCodePoint(cp)
}

const least = (a: number | null | undefined, b: number | null | undefined): number | undefined =>
  a == null ? (b ?? undefined) : b == null ? a : Math.min(a, b)
const greatest = (a: number | null | undefined, b: number | null | undefined): number | undefined =>
  a == null ? (b ?? undefined) : b == null ? a : Math.max(a, b)
