import type Database from 'better-sqlite3'
import type { AppendEntry } from './types.js'
import {
  changesOf,
  eventBody,
  rowEventsOf,
  MAX_AUTHORS,
  type OutboxDelivery,
  type OutboxOptions,
  type RoomChange,
  type WebhookEventType,
  type WebhookOutbox,
} from './outbox.js'

/**
 * The SQLite store's webhook outbox (store/outbox.ts says what it is). Its tables are created
 * with the others (sqlite-schema.ts, version 4). `appended` and `deleting` run inside the
 * store's own transactions; the dispatcher's queries open theirs. One process owns the file, so
 * leases left by a killed process are cleared when it opens.
 */
export function createSqliteOutbox(db: Database.Database, opts: OutboxOptions) {
  const urls = opts.urls
  // The common case (the room already has a change row): one statement; the authors are
  // rewritten only when this commit brings a new one (distinct, first-seen order, at most MAX_AUTHORS).
  const updateChange = db.prepare<{ room: string; seq: number; at: number; authors: string }>(
    `UPDATE webhook_changes SET last_seq = @seq, last_at = @at,
       authors = CASE WHEN NOT EXISTS (SELECT 1 FROM json_each(@authors) n
                                        WHERE n.value NOT IN (SELECT value FROM json_each(webhook_changes.authors)))
                 THEN authors
                 ELSE (SELECT json_group_array(value) FROM (
                         SELECT value FROM json_each(webhook_changes.authors)
                         UNION ALL
                         SELECT value FROM json_each(@authors) WHERE value NOT IN (SELECT value FROM json_each(webhook_changes.authors))
                         LIMIT ${MAX_AUTHORS}))
                 END
     WHERE room = @room`,
  )
  const insertChange = db.prepare<[string, number, number, string, number, number]>(
    'INSERT INTO webhook_changes (room, first_seq, last_seq, authors, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?)',
  )
  const storedBefore = db
    .prepare<[string, number, string], number>(
      'SELECT EXISTS (SELECT 1 FROM updates WHERE room = ? AND seq < ?) OR EXISTS (SELECT 1 FROM snapshots WHERE room = ?)',
    )
    .pluck()
  const anyStored = db
    .prepare<[string, string], number>('SELECT EXISTS (SELECT 1 FROM updates WHERE room = ?) OR EXISTS (SELECT 1 FROM snapshots WHERE room = ?)')
    .pluck()
  const insertEvent = db.prepare<[string, string, string, string, string, number, number]>(
    'INSERT INTO webhook_outbox (event_id, url, room, type, body, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  )
  const takeChange = db.prepare<[string], { room: string; first_seq: number; last_seq: number; authors: string; last_at: number }>(
    'DELETE FROM webhook_changes WHERE room = ? RETURNING room, first_seq, last_seq, authors, last_at',
  )
  const dueChanges = db.prepare<[number, number], string>('SELECT room FROM webhook_changes WHERE last_at <= ? OR first_at <= ? LIMIT 100').pluck()
  const due = db.prepare<{ now: number; limit: number }, Omit<OutboxDelivery, 'attempts'> & { attempts: number }>(
    `SELECT id, event_id AS eventId, url, room, type, body, attempts, created_at AS createdAt FROM webhook_outbox o
      WHERE state = 'pending' AND next_at <= @now AND lease_until <= @now
        AND NOT EXISTS (SELECT 1 FROM webhook_outbox p WHERE p.state = 'pending' AND p.url = o.url AND p.room = o.room AND p.id < o.id)
      ORDER BY id LIMIT @limit`,
  )
  const lease = db.prepare<[number, number]>('UPDATE webhook_outbox SET lease_until = ?, attempts = attempts + 1 WHERE id = ?')
  const remove = db.prepare<[number]>('DELETE FROM webhook_outbox WHERE id = ?')
  const retryAt = db.prepare<[number, string, number]>('UPDATE webhook_outbox SET next_at = ?, lease_until = 0, last_error = ? WHERE id = ?')
  const markDead = db.prepare<[string, number]>("UPDATE webhook_outbox SET state = 'dead', lease_until = 0, last_error = ? WHERE id = ?")
  const countPending = db.prepare<[string], number>("SELECT count(*) FROM webhook_outbox WHERE state = 'pending' AND url IN (SELECT value FROM json_each(?))").pluck()
  // This process is the file's only writer: a lease is a delivery of a process that is gone.
  db.prepare("UPDATE webhook_outbox SET lease_until = 0 WHERE state = 'pending' AND lease_until > 0").run()

  const enqueue = (type: WebhookEventType, room: string, at: number, change?: RoomChange) => {
    const { eventId, body } = eventBody(type, room, at, change)
    for (const url of urls) insertEvent.run(eventId, url, room, type, body, at, at)
  }
  /** The room's change row becomes a `document.changed` event (inside a transaction). */
  const flush = (room: string): boolean => {
    const c = takeChange.get(room)
    if (!c) return false
    enqueue('document.changed', room, c.last_at, { room, firstSeq: c.first_seq, lastSeq: c.last_seq, authors: JSON.parse(c.authors) as string[] })
    return true
  }
  const promoteTx = db.transaction((now: number, debounceMs: number, maxWaitMs: number) => {
    let n = 0
    for (const room of dueChanges.all(now - debounceMs, now - maxWaitMs)) if (flush(room)) n++
    return n
  })
  const claimTx = db.transaction((now: number, leaseMs: number, limit: number, wanted: readonly string[]) => {
    const rows = due.all({ now, limit: limit * 4 }).filter((r) => wanted.includes(r.url)).slice(0, limit)
    for (const r of rows) lease.run(now + leaseMs, r.id)
    return rows.map((r) => ({ ...r, attempts: r.attempts + 1 }))
  })

  const outbox: WebhookOutbox = {
    // Deferred transactions: a poll that finds nothing due writes nothing and takes no write lock
    // (this connection is the file's only writer, and better-sqlite3 runs them to the end synchronously).
    promote: async (now, debounceMs, maxWaitMs) => promoteTx(now, debounceMs, maxWaitMs),
    claim: async (now, leaseMs, limit, wanted) => claimTx(now, leaseMs, limit, wanted),
    delivered: async (id) => {
      remove.run(id)
    },
    retry: async (id, nextAt, error) => {
      retryAt.run(nextAt, error, id)
    },
    dead: async (id, error) => {
      markDead.run(error, id)
    },
    depth: async (wanted) => countPending.get(JSON.stringify(wanted)) ?? 0,
  }

  return {
    outbox,
    /**
     * Inside the append's transaction, after its rows are inserted: per room one change row
     * written, and `room.created` when these are the room's first rows.
     */
    appended(entries: readonly AppendEntry[], seqs: readonly number[], now: number): void {
      for (const r of rowEventsOf(entries, seqs)) {
        const { eventId, body } = eventBody(r.event.type, r.room, now, { firstSeq: r.seq, lastSeq: r.seq, authors: r.authors }, r.event.data)
        for (const url of urls) insertEvent.run(eventId, url, r.room, r.event.type, body, now, now)
      }
      for (const c of changesOf(entries, seqs)) {
        if (updateChange.run({ room: c.room, seq: c.lastSeq, at: now, authors: JSON.stringify(c.authors) }).changes > 0) continue
        if (!storedBefore.get(c.room, c.firstSeq, c.room)) enqueue('room.created', c.room, now, c)
        insertChange.run(c.room, c.firstSeq, c.lastSeq, JSON.stringify(c.authors), now, now)
      }
    },
    /**
     * Inside deleteRoom's transaction, before the room's rows go: its pending changes become their
     * `document.changed` event, then `room.deleted` (only for a room that had anything stored).
     */
    deleting(room: string, now: number): void {
      flush(room)
      if (anyStored.get(room, room)) enqueue('room.deleted', room, now)
    },
  }
}
