import type pg from 'pg'
import type { AppendEntry } from './types.js'
import { transaction } from './postgres-pool.js'
import { MAX_AUTHORS, changesOf, eventBody, rowEventsOf, type OutboxDelivery, type OutboxOptions, type WebhookOutbox } from './outbox.js'

/**
 * The PostgreSQL store's webhook outbox (store/outbox.ts says what it is; the SQLite twin is
 * sqlite-outbox.ts). Several servers share it: `promote` and `claim` take rows with
 * `FOR UPDATE SKIP LOCKED`, and a claimed delivery is leased (`lease_until`), so each event is
 * sent by one server, not by each; a server killed mid-delivery leaves a lease that runs out,
 * and another (or the same, restarted) sends it again. Times are ms since the epoch from the
 * servers' clocks (leases and debounce tolerate the skew of NTP-synchronised hosts).
 */

/** Migration: the two tables (appended to postgres-schema.ts's MIGRATIONS). */
export const WEBHOOK_OUTBOX_MIGRATION = (s: string): string => `
  CREATE TABLE ${s}.webhook_changes (
    room      text PRIMARY KEY,
    first_seq bigint NOT NULL,
    last_seq  bigint NOT NULL,
    authors   jsonb NOT NULL,
    first_at  bigint NOT NULL,
    last_at   bigint NOT NULL
  );
  CREATE TABLE ${s}.webhook_outbox (
    id          bigserial PRIMARY KEY,
    event_id    text NOT NULL,
    url         text NOT NULL,
    room        text NOT NULL,
    type        text NOT NULL,
    body        text NOT NULL,
    created_at  bigint NOT NULL,
    attempts    int NOT NULL DEFAULT 0,
    next_at     bigint NOT NULL,
    lease_until bigint NOT NULL DEFAULT 0,
    state       text NOT NULL DEFAULT 'pending',
    last_error  text
  );
  CREATE INDEX webhook_outbox_room ON ${s}.webhook_outbox (url, room, id) WHERE state = 'pending';`

interface ChangeRow {
  room: string
  first_seq: string
  last_seq: string
  authors: string[]
  last_at: string
}

export function createPostgresOutbox(pool: pg.Pool, s: string, opts: OutboxOptions) {
  const urls = [...opts.urls]
  const sql = {
    // One statement per append: the change rows upserted (authors merged: distinct, first-seen
    // order, at most MAX_AUTHORS), and room.created for a room whose change row is new and that
    // has nothing stored before these rows. xmax = 0 in RETURNING: the row was inserted, not updated.
    appended: `
      WITH e AS (
        SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::text[], $5::text[], $6::text[])
          AS t(room, first_seq, last_seq, authors, created_id, created_body)
      ), up AS (
        INSERT INTO ${s}.webhook_changes AS c (room, first_seq, last_seq, authors, first_at, last_at)
        SELECT room, first_seq, last_seq, authors::jsonb, $7, $7 FROM e
        ON CONFLICT (room) DO UPDATE SET
          last_seq = excluded.last_seq,
          last_at = excluded.last_at,
          authors = CASE WHEN c.authors @> excluded.authors THEN c.authors ELSE (
            SELECT COALESCE(jsonb_agg(a ORDER BY o), '[]'::jsonb) FROM (
              SELECT a, min(o) AS o FROM jsonb_array_elements(c.authors || excluded.authors) WITH ORDINALITY AS x(a, o)
               GROUP BY a ORDER BY min(o) LIMIT ${MAX_AUTHORS}) z) END
        RETURNING c.room, (c.xmax = 0) AS inserted
      )
      INSERT INTO ${s}.webhook_outbox (event_id, url, room, type, body, created_at, next_at)
      SELECT e.created_id, u.url, e.room, 'room.created', e.created_body, $7, $7
        FROM e JOIN up ON up.room = e.room AND up.inserted
        CROSS JOIN unnest($8::text[]) WITH ORDINALITY AS u(url, n)
       WHERE NOT EXISTS (SELECT 1 FROM ${s}.updates x WHERE x.room = e.room AND x.seq < e.first_seq)
         AND NOT EXISTS (SELECT 1 FROM ${s}.snapshots sn WHERE sn.room = e.room)
       ORDER BY e.first_seq, u.n`,
    takeChange: `DELETE FROM ${s}.webhook_changes WHERE room = $1 RETURNING room, first_seq, last_seq, authors, last_at`,
    takeDue: `
      DELETE FROM ${s}.webhook_changes c USING (
        SELECT room FROM ${s}.webhook_changes WHERE last_at <= $1 OR first_at <= $2
         ORDER BY first_at LIMIT 100 FOR UPDATE SKIP LOCKED) d
       WHERE c.room = d.room
      RETURNING c.room, c.first_seq, c.last_seq, c.authors, c.last_at`,
    insertEvents: `
      INSERT INTO ${s}.webhook_outbox (event_id, url, room, type, body, created_at, next_at)
      SELECT t.event_id, u.url, t.room, t.type, t.body, t.at, t.at
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[]) WITH ORDINALITY AS t(event_id, room, type, body, at, n)
        CROSS JOIN unnest($6::text[]) WITH ORDINALITY AS u(url, m)
       ORDER BY t.n, u.m`,
    anyStored: `SELECT EXISTS (SELECT 1 FROM ${s}.updates WHERE room = $1) OR EXISTS (SELECT 1 FROM ${s}.snapshots WHERE room = $1) AS stored`,
    // The oldest undelivered event per room and receiver, not leased, due. A row another server is
    // claiming right now is skipped (SKIP LOCKED); its successors stay behind it (NOT EXISTS).
    claim: `
      UPDATE ${s}.webhook_outbox o SET lease_until = $2, attempts = o.attempts + 1
        FROM (SELECT id FROM ${s}.webhook_outbox w
               WHERE state = 'pending' AND next_at <= $1 AND lease_until <= $1 AND url = ANY($4::text[])
                 AND NOT EXISTS (SELECT 1 FROM ${s}.webhook_outbox p
                                  WHERE p.state = 'pending' AND p.url = w.url AND p.room = w.room AND p.id < w.id)
               ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) d
       WHERE o.id = d.id
      RETURNING o.id, o.event_id, o.url, o.room, o.type, o.body, o.attempts, o.created_at`,
    delivered: `DELETE FROM ${s}.webhook_outbox WHERE id = $1`,
    retry: `UPDATE ${s}.webhook_outbox SET next_at = $2, lease_until = 0, last_error = $3 WHERE id = $1`,
    dead: `UPDATE ${s}.webhook_outbox SET state = 'dead', lease_until = 0, last_error = $2 WHERE id = $1`,
    depth: `SELECT count(*) AS n FROM ${s}.webhook_outbox WHERE state = 'pending' AND url = ANY($1::text[])`,
  }

  interface NewEvent {
    eventId: string
    room: string
    type: string
    body: string
    at: number
  }
  const insertEvents = async (c: pg.ClientBase, events: NewEvent[]) => {
    if (events.length === 0 || urls.length === 0) return
    await c.query(sql.insertEvents, [
      events.map((e) => e.eventId),
      events.map((e) => e.room),
      events.map((e) => e.type),
      events.map((e) => e.body),
      events.map((e) => e.at),
      urls,
    ])
  }
  const changed = (r: ChangeRow): NewEvent => {
    const change = { firstSeq: Number(r.first_seq), lastSeq: Number(r.last_seq), authors: r.authors }
    return { room: r.room, type: 'document.changed', at: Number(r.last_at), ...eventBody('document.changed', r.room, Number(r.last_at), change) }
  }

  const outbox: WebhookOutbox = {
    promote: (now, debounceMs, maxWaitMs) =>
      transaction(pool, async (c) => {
        const rows = (await c.query<ChangeRow>(sql.takeDue, [now - debounceMs, now - maxWaitMs])).rows
        // In the order the rooms first changed (RETURNING's order is not promised).
        rows.sort((a, b) => Number(a.first_seq) - Number(b.first_seq))
        await insertEvents(c, rows.map(changed))
        return rows.length
      }),
    claim: async (now, leaseMs, limit, wanted) => {
      const { rows } = await pool.query<{ id: string; event_id: string; url: string; room: string; type: OutboxDelivery['type']; body: string; attempts: number; created_at: string }>(
        sql.claim,
        [now, now + leaseMs, limit, [...wanted]],
      )
      return rows
        .map((r) => ({ id: Number(r.id), eventId: r.event_id, url: r.url, room: r.room, type: r.type, body: r.body, attempts: r.attempts, createdAt: Number(r.created_at) }))
        .sort((a, b) => a.id - b.id)
    },
    delivered: async (id) => {
      await pool.query(sql.delivered, [id])
    },
    retry: async (id, nextAt, error) => {
      await pool.query(sql.retry, [id, nextAt, error])
    },
    dead: async (id, error) => {
      await pool.query(sql.dead, [id, error])
    },
    depth: async (wanted) => Number((await pool.query<{ n: string }>(sql.depth, [[...wanted]])).rows[0]!.n),
  }

  return {
    outbox,
    /** Inside the append's transaction, after its rows are inserted (the room locks are held): one statement. */
    async appended(c: pg.ClientBase, entries: readonly AppendEntry[], seqs: readonly number[], now: number): Promise<void> {
      const rowEvents = rowEventsOf(entries, seqs)
      if (rowEvents.length) {
        await insertEvents(
          c,
          rowEvents.map((r) => ({ room: r.room, type: r.event.type, at: now, ...eventBody(r.event.type, r.room, now, { firstSeq: r.seq, lastSeq: r.seq, authors: r.authors }, r.event.data) })),
        )
      }
      const changes = changesOf(entries, seqs)
      if (changes.length === 0) return
      const created = changes.map((ch) => eventBody('room.created', ch.room, now, ch))
      await c.query(sql.appended, [
        changes.map((ch) => ch.room),
        changes.map((ch) => ch.firstSeq),
        changes.map((ch) => ch.lastSeq),
        changes.map((ch) => JSON.stringify(ch.authors)),
        created.map((e) => e.eventId),
        created.map((e) => e.body),
        now,
        urls,
      ])
    },
    /** Inside deleteRoom's transaction (the room lock held), before the room's rows go. */
    async deleting(c: pg.ClientBase, room: string, now: number): Promise<void> {
      const events: NewEvent[] = (await c.query<ChangeRow>(sql.takeChange, [room])).rows.map(changed)
      if ((await c.query<{ stored: boolean }>(sql.anyStored, [room])).rows[0]!.stored) {
        events.push({ room, type: 'room.deleted', at: now, ...eventBody('room.deleted', room, now) })
      }
      await insertEvents(c, events)
    },
  }
}
