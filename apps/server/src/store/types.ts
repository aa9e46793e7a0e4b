import type { RowEvent, WebhookOutbox } from './outbox.js'
import type { VersionStore } from './versions.js'
import type { UploadStore } from './uploads.js'

/**
 * DocStore: where every accepted update lives before any peer sees it.
 *
 * Model: per room, an optional snapshot (a Yjs update holding the merged state up to some
 * sequence number) plus an append-only log of updates after it. Sequence numbers are
 * store-assigned, strictly increasing per store, and only compared within one room.
 *
 * INVARIANT the server builds on: when `append` resolves, the entries are durable (committed),
 * and only then are they applied and relayed.
 */
export interface AppendEntry {
  room: string
  update: Uint8Array
  /**
   * OPTIONAL condition (the HTTP API's conditional writes): append only if the room's last seq
   * (`lastSeq`) is exactly this when the transaction runs; otherwise the entry is not written and
   * its seq comes back as 0. Checked inside the append's transaction under the room's write lock,
   * so of several writers expecting the same seq (on one server or on several sharing the store)
   * exactly one succeeds.
   */
  ifLastSeq?: number
  /**
   * OPTIONAL: who wrote the row (the senders' token `sub`s, distinct, in arrival order; absent when
   * none is known). Stores may ignore it; change records (webhooks, version history) use it.
   */
  authors?: string[]
  /**
   * OPTIONAL: an event the row's write stands for beyond "the document changed" (a restore of a
   * version): a store with a webhook outbox writes it in the append's transaction, with the row.
   */
  event?: RowEvent
}


/** One stored room, as `listRooms` describes it. */
export interface RoomInfo {
  room: string
  /** bytes stored for it: snapshot plus log rows (what MAX_DOC_BYTES budgets), quarantined rows not counted */
  bytes: number
  /** ms since the epoch of its first and latest stored row; undefined for rows stored before times were recorded */
  createdAt: number | undefined
  updatedAt: number | undefined
}

export interface ListRoomsQuery {
  /** only names starting with this ('' = all) */
  prefix: string
  /** only names after this one in the store's order (the previous page's last name) */
  after: string | undefined
  limit: number
}

export interface StoredRow {
  seq: number
  data: Uint8Array
}

export interface LoadedDoc {
  /** merged state through `snapshotSeq`, or null for a room never compacted */
  snapshot: StoredRow | null
  /** log rows after the snapshot, in seq order */
  updates: StoredRow[]
}

export interface DocStore {
  readonly kind: string
  load(room: string): Promise<LoadedDoc>
  /**
   * OPTIONAL catch-up read (stores shared by several servers implement it; without it the server
   * falls back to `load`). For a room whose in-memory doc holds every row with seq <= afterSeq:
   * the rows after it, in seq order, plus the snapshot if compaction went past afterSeq (apply it
   * whole; Yjs ignores what the doc already has). Within a room, rows must become visible in seq
   * order (no later seq visible before an earlier one commits), or a reader could skip a row.
   */
  loadSince?(room: string, afterSeq: number): Promise<LoadedDoc>
  /**
   * Commits all entries in ONE transaction (group commit); resolves with their seqs, in order (0
   * for an entry whose `ifLastSeq` no longer held: not written).
   */
  append(entries: readonly AppendEntry[]): Promise<number[]>
  /** The room's last seq: the highest of its log rows' and its snapshot's, 0 when nothing is stored. */
  lastSeq(room: string): Promise<number>
  /**
   * Rooms with anything stored (log rows or a snapshot), ascending by name in the store's order,
   * which is stable: paging with `after` = the previous page's last name visits each room once.
   */
  listRooms(query: ListRoomsQuery): Promise<RoomInfo[]>
  /**
   * Removes everything stored for the room (log, snapshot, quarantined rows, versions, uploads) in one transaction,
   * under the room's write lock; a later load finds it empty.
   */
  deleteRoom(room: string): Promise<void>
  /** Replaces the room's snapshot with `snapshot` and deletes log rows with seq <= throughSeq, atomically. */
  compact(room: string, snapshot: Uint8Array, throughSeq: number): Promise<void>
  /** Moves unreadable rows aside (kept for inspection, never loaded again). */
  quarantine(room: string, seqs: readonly number[], reason: string): Promise<void>
  /**
   * OPTIONAL: the webhook outbox (store/outbox.ts), present when the store was opened with
   * webhooks on: its append and deleteRoom write events in their transactions.
   */
  readonly outbox?: WebhookOutbox | undefined
  /** OPTIONAL: version history (store/versions.ts); without it the versions API answers 501. */
  readonly versions?: VersionStore
  /** OPTIONAL: uploaded images (store/uploads.ts); without it the uploads API answers 501. */
  readonly uploads?: UploadStore
  /** Cheap liveness probe for /healthz. */
  health(): Promise<{ ok: boolean; detail?: string }>
  close(): Promise<void>
}
