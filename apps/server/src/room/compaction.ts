import type { DocStore } from '../store/types.js'
import type { Logger } from '../log.js'
import type { Metrics } from '../metrics.js'
import type { RoomDocument } from '../update/document.js'

/**
 * Folds a room's update log into a snapshot, so a restart does not replay a long log: when the
 * log passes COMPACT_AFTER_UPDATES or COMPACT_AFTER_BYTES, after a load that found a long (or
 * healed) log, on unload, and when the byte budget needs an exact figure. Off the relay path
 * (setImmediate), serialized, and only once the document holds nothing unstored.
 */
export class Compactor {
  /** highest store seq in the document: what a snapshot covers */
  private lastSeq: number
  /** log growth since the last snapshot */
  private since: { updates: number; bytes: number }
  private queued = false
  private chain: Promise<void> | undefined
  private destroyed = false

  constructor(
    private readonly room: string,
    private readonly document: RoomDocument,
    private readonly deps: { store: DocStore; metrics: Metrics; log: Logger; config: { compactAfterUpdates: number; compactAfterBytes: number } },
    loaded: { lastSeq: number; logRows: number; logBytes: number },
  ) {
    this.lastSeq = loaded.lastSeq
    this.since = { updates: loaded.logRows, bytes: loaded.logBytes }
  }

  /** A row was stored (by this server, or found by a catch-up). */
  stored(seq: number, bytes: number): void {
    this.lastSeq = Math.max(this.lastSeq, seq)
    this.since.updates++
    this.since.bytes += bytes
  }

  /** Rows up to `seq` are in the document (a catch-up or a rebuild read them). */
  seen(seq: number): void {
    this.lastSeq = Math.max(this.lastSeq, seq)
  }

  get needed(): boolean {
    return this.since.updates > 0
  }

  /** Schedules a snapshot when the log passed its count or size threshold. */
  ifDue(): void {
    const { compactAfterUpdates, compactAfterBytes } = this.deps.config
    if (this.since.updates < compactAfterUpdates && this.since.bytes < compactAfterBytes) return
    this.soon()
  }

  /** Off the relay path: the snapshot is encoded after this turn's deliveries went out. */
  soon(): void {
    if (this.queued || !this.needed) return
    this.queued = true
    setImmediate(() => {
      this.now()
        .catch((err) => this.deps.log.error({ err, room: this.room }, 'compaction failed; the log is kept'))
        .finally(() => (this.queued = false))
    })
  }

  /** Writes a snapshot of everything through `lastSeq` and drops those log rows. Serialized. */
  now(): Promise<void> {
    const run = (this.chain ?? Promise.resolve()).then(() => this.write())
    this.chain = run.catch(() => {})
    return run
  }

  private async write(): Promise<void> {
    // Never snapshot updates that are not stored yet, nor a document that is being rebuilt.
    await this.document.settled()
    const counted = { ...this.since }
    if (counted.updates === 0 || this.destroyed) return
    const snapshot = this.document.snapshot()
    await this.deps.store.compact(this.room, snapshot, this.lastSeq)
    this.since.updates -= counted.updates
    this.since.bytes -= counted.bytes
    // A snapshot is the exact size of what the log held: the byte budget restarts from it.
    this.document.snapshotTaken(snapshot.length, this.since.bytes)
    this.deps.metrics.compactions.inc()
  }

  destroy(): void {
    this.destroyed = true
  }
}
