import { randomUUID } from 'node:crypto'

/**
 * The webhook outbox as the stores keep it (store/sqlite-outbox.ts, store/postgres-outbox.ts):
 * what the append and deleteRoom transactions write, and the queries the dispatcher
 * (webhooks/dispatcher.ts) runs. Events are written in the SAME transaction as the change they
 * report, so a committed change always has its event (at-least-once), and none exists for a
 * change that rolled back.
 *
 * Two tables. `webhook_changes`: per room at most one row, the changes since its last
 * `document.changed` (first and last seq, authors, first and last time); an append upserts it,
 * one row write per room per commit. `webhook_outbox`: one row per event and receiver, in id
 * order; `promote` turns due change rows into `document.changed` rows (the debounce), `room.created`
 * and `room.deleted` are written directly. A row is deleted once delivered, or kept as `dead`.
 */

/** What `AppendEntry.event` carries: the webhook event's type and its fields beyond room, time and seq. */
export interface RowEvent {
  type: 'document.restored'
  data: Record<string, string | number | null>
}

export type WebhookEventType = 'document.changed' | 'room.created' | 'room.deleted' | 'document.restored'

/** One delivery to make: an outbox row, claimed (leased) by this server. */
export interface OutboxDelivery {
  /** the row (order within a room and receiver) */
  id: number
  /** the event's id, the same for every receiver (`X-Tandem-Event-Id`) */
  eventId: string
  url: string
  room: string
  type: WebhookEventType
  /** the JSON body, exactly as signed and sent */
  body: string
  /** attempts so far, this one included */
  attempts: number
  /** ms since the epoch the event was written */
  createdAt: number
}

export interface WebhookOutbox {
  /**
   * Turns change rows that are due (quiet for `debounceMs`, or first changed `maxWaitMs` ago) into
   * `document.changed` events for every receiver; returns how many.
   */
  promote(now: number, debounceMs: number, maxWaitMs: number): Promise<number>
  /**
   * Claims up to `limit` deliveries that are due, leasing them until `now + leaseMs` (no other
   * server, and no later claim, takes them meanwhile): per room and receiver only the oldest
   * undelivered one, so a room's events arrive in order. Only for `urls` (the receivers
   * configured now).
   */
  claim(now: number, leaseMs: number, limit: number, urls: readonly string[]): Promise<OutboxDelivery[]>
  /** Delivered: the row goes. */
  delivered(id: number): Promise<void>
  /** Failed, to be tried again at `nextAt` (the lease ends). */
  retry(id: number, nextAt: number, error: string): Promise<void>
  /** Failed for the last time: kept as dead (no longer blocks the room's later events). */
  dead(id: number, error: string): Promise<void>
  /** Events waiting for delivery to `urls` (dead ones not counted). */
  depth(urls: readonly string[]): Promise<number>
}

/** What a store needs to write events: the receivers (one outbox row per event and receiver). */
export interface OutboxOptions {
  urls: readonly string[]
}

/** Distinct authors kept per change row: a busy room's event stays small. */
export const MAX_AUTHORS = 100

/** One room's share of an append: the stored rows of that room in this transaction. */
export interface RoomChange {
  room: string
  firstSeq: number
  lastSeq: number
  authors: string[]
}

/** The events the append's stored rows carry (`AppendEntry.event`: a restore), with each row's seq and authors. */
export function rowEventsOf(entries: readonly { room: string; authors?: string[]; event?: RowEvent }[], seqs: readonly number[]): Array<{ room: string; seq: number; authors: string[]; event: RowEvent }> {
  const out: Array<{ room: string; seq: number; authors: string[]; event: RowEvent }> = []
  entries.forEach((e, i) => {
    if (e.event && seqs[i]) out.push({ room: e.room, seq: seqs[i], authors: (e.authors ?? []).slice(0, MAX_AUTHORS), event: e.event })
  })
  return out
}

/** The append's entries per room (refused conditional entries, seq 0, left out), in entry order. */
export function changesOf(entries: readonly { room: string; authors?: string[] }[], seqs: readonly number[]): RoomChange[] {
  const byRoom = new Map<string, RoomChange>()
  entries.forEach((e, i) => {
    const seq = seqs[i]!
    if (seq === 0) return
    const c = byRoom.get(e.room)
    if (!c) byRoom.set(e.room, { room: e.room, firstSeq: seq, lastSeq: seq, authors: e.authors ? e.authors.slice(0, MAX_AUTHORS) : [] })
    else {
      c.lastSeq = Math.max(c.lastSeq, seq)
      c.firstSeq = Math.min(c.firstSeq, seq)
      c.authors = mergeAuthors(c.authors, e.authors ?? [])
    }
  })
  return [...byRoom.values()]
}

/** Distinct, in first-seen order, at most MAX_AUTHORS. */
function mergeAuthors(a: readonly string[], b: readonly string[]): string[] {
  if (b.length === 0) return a.slice(0, MAX_AUTHORS)
  return [...new Set([...a, ...b])].slice(0, MAX_AUTHORS)
}

/** A new event: its id and its JSON body (README "Webhooks" › Events). */
export function eventBody(
  type: WebhookEventType,
  room: string,
  at: number,
  change?: { firstSeq: number; lastSeq: number; authors: readonly string[] },
  extra?: Record<string, string | number | null>,
): { eventId: string; body: string } {
  const eventId = randomUUID()
  const body = JSON.stringify({
    id: eventId,
    type,
    room,
    time: new Date(at).toISOString(),
    ...(change ? { seq: { from: change.firstSeq, to: change.lastSeq }, authors: change.authors } : {}),
    ...extra,
  })
  return { eventId, body }
}
