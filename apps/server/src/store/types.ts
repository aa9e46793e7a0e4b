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
  /** Commits all entries in ONE transaction (group commit); resolves with their seqs, in order. */
  append(entries: readonly AppendEntry[]): Promise<number[]>
  /** Replaces the room's snapshot with `snapshot` and deletes log rows with seq <= throughSeq, atomically. */
  compact(room: string, snapshot: Uint8Array, throughSeq: number): Promise<void>
  /** Moves unreadable rows aside (kept for inspection, never loaded again). */
  quarantine(room: string, seqs: readonly number[], reason: string): Promise<void>
  /** Cheap liveness probe for /healthz. */
  health(): Promise<{ ok: boolean; detail?: string }>
  close(): Promise<void>
}
