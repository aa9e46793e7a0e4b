import * as Y from 'yjs'
import { CloseCode, ProtocolError } from '@tandem/sync'
import type { RoomContext } from '../room/context.js'
import { DocState } from '../room/doc-state.js'
import { API_ORIGIN, BATCH_ORIGIN, FANOUT_ORIGIN } from '../room/tx-origins.js'
import { loadStoredState, type StoredState } from '../room/stored-state.js'
import type { Arrival, CommitRoom, RoomCommit, UpdateSender } from './commit.js'
import { acknowledgeAll } from './acks.js'
import { DocBudget, countStructs, inspectUpdate, type UpdateInfo } from './inspect.js'
import { IntegrationFailed, integrate, type PendingParts } from './integrate.js'
import { ParkedParts, releaseResolved, type Retried } from './parked.js'

/**
 * A room's document as the update path sees it: the Y.Doc (and the sync replies computed from
 * it, DocState), its budget, its parked parts, and whether it can be read right now.
 *
 * Updates are integrated into the Y.Doc BEFORE they are stored (stage 3), so while a commit of
 * this room is in flight the document holds what the store does not have yet; and when Yjs threw
 * part-way through an update, or a commit failed, the document is rebuilt from the store. In
 * both states nothing is read from it for a peer: sync replies, the HTTP state and snapshots wait
 * (`whenSettled`, `settled`), so no peer ever receives what the store does not have.
 */
export class RoomDocument {
  private readonly state = new DocState()
  private readonly budget: DocBudget
  private parked: ParkedParts | undefined
  private committing = false
  private rebuilding: Promise<void> | undefined
  /** Yjs threw part-way, or a commit failed: rebuild from the store when the commit is over */
  private poisoned = false
  private deferred: Array<() => void> | undefined
  /** arrivals that came while rebuilding (or after one of their commit poisoned it): back to the commit queue afterwards */
  private waiting: Arrival[] | undefined
  /** parked messages the commit in flight resolves: their "saved" holds go once its row is stored */
  private releasing: Retried['resolved'] | undefined
  private destroyed = false

  constructor(
    private readonly name: string,
    private readonly ctx: RoomContext,
    /** the room this document belongs to, as the commit queue knows it (a retry of parked parts is a commit of it) */
    private readonly room: CommitRoom,
    stored: StoredState,
    /** after a rebuild: the state it read (the room's catch-up position follows it) and what it has that the old document lacked (to relay) */
    private readonly onRebuilt: (state: StoredState, gained: Uint8Array | undefined) => void,
    /** the store is unreachable during a rebuild: nobody may be served from this document */
    private readonly onLost: () => void,
  ) {
    this.budget = new DocBudget(ctx.config)
    this.load(stored)
  }

  private load(stored: StoredState): void {
    this.state.load(stored.update)
    this.budget.reset(stored.structs, stored.bytes)
  }

  /** The Y.Doc, created on first use (see DocState). */
  get doc(): Y.Doc {
    return this.state.doc
  }

  get materialized(): boolean {
    return this.state.materialized
  }

  // ------------------------------------------------------------------------------------------
  // Reading, only what the store has

  /** Runs `reply` now, or once the document holds only what the store has. A throw closes `peer`. */
  whenSettled(peer: { close(code: number, reason: string): void }, reply: (state: DocState) => void): void {
    const run = () => {
      try {
        reply(this.state)
      } catch (err) {
        const pe = err instanceof ProtocolError ? err : new ProtocolError(String(err), CloseCode.InternalError, 'internal')
        peer.close(pe.closeCode, pe.reason)
      }
    }
    if (!this.committing && !this.rebuilding) return run()
    ;(this.deferred ??= []).push(run)
  }

  /** Resolves when no commit is in flight and no rebuild is under way. */
  settled(): Promise<void> {
    if (!this.committing && !this.rebuilding) return Promise.resolve()
    return new Promise((resolve) => (this.deferred ??= []).push(resolve))
  }

  /** The whole state, only what is stored (the HTTP API). */
  async encodeState(): Promise<Uint8Array> {
    await this.settled()
    return this.state.state()
  }

  /** What a snapshot stores (called once settled, by compaction). */
  snapshot(): Uint8Array {
    return this.state.snapshot()
  }

  snapshotTaken(bytes: number, logBytes: number): void {
    this.budget.snapshotTaken(bytes, logBytes)
  }

  // ------------------------------------------------------------------------------------------
  // Stage 1: budget on arrival

  /** Reserves budget for an arriving update (4413 when the document is full). */
  reserve(info: UpdateInfo, bytes: number, onBytesFull: () => void): void {
    this.budget.reserve(info, bytes, () => (this.state.materialized ? countStructs(this.doc) : undefined), onBytesFull)
  }

  // ------------------------------------------------------------------------------------------
  // Stage 3: integrate, before the store

  /**
   * Integrates this commit's arrivals (integrate.ts). A refused update closes its sender and is
   * neither stored nor relayed; what integrated is merged into the row to store. Returns whether
   * there is one.
   */
  integrate(c: RoomCommit): boolean {
    if (this.rebuilding) {
      ;(this.waiting ??= []).push(...c.arrivals)
      return false
    }
    const doc = this.doc
    const rows: Uint8Array[] = []
    const accepted: Arrival[] = []
    let whole = true
    // One Yjs transaction for the whole commit: each update is still applied, checked and
    // refused on its own, but the transaction's cleanup and events run once per commit instead of
    // once per update (a busy room's commit holds several).
    try {
      doc.transact(() => {
        for (const a of c.arrivals) {
          if (!a.info.hasContent) continue // a nudge to retry parked parts (see applyStored)
          if (this.poisoned) {
            // An earlier arrival of this commit made Yjs throw part-way: the document is rebuilt from
            // the store before anything else integrates into it. The rest wait and go first after it.
            ;(this.waiting ??= []).push(a)
            continue
          }
          try {
            const r = integrate(doc, a.update, a.from?.txOrigin ?? API_ORIGIN, { maxNestingDepth: this.ctx.config.maxNestingDepth, hasTypes: a.info.types > 0 })
            accepted.push(a)
            if (r.pending === undefined) {
              rows.push(a.update)
              continue
            }
            whole = false
            if (r.integrated) rows.push(r.integrated)
            if (this.parts().park(r.pending, a.from, a.message) && a.from) this.askForMissing(a.from)
          } catch (err) {
            this.refuse(a, err)
          }
        }
        if (!this.poisoned && this.parked?.size) {
          const retried = this.parked.retry(doc)
          rows.push(...retried.rows)
          if (retried.rows.length) c.resolved = true
          if (retried.resolved.length) this.releasing = retried.resolved
          if (retried.failed) this.poisoned = true
        }
      }, BATCH_ORIGIN)
    } catch (err) {
      // The transaction's cleanup threw (after an update Yjs could not integrate): what
      // integrated before is in `rows`, stored as usual; the document is rebuilt after.
      this.poisoned = true
      this.ctx.log.warn({ room: this.name, err: (err as Error).message }, 'integrating a commit failed in Yjs cleanup; the document is rebuilt from the store')
    }
    c.arrivals = accepted
    if (rows.length || accepted.length) this.state.changed()
    if (rows.length === 0) {
      // Nothing to store (everything parked or refused): acknowledge what is not held.
      acknowledgeAll(accepted)
      if (this.poisoned) this.settle()
      return false
    }
    c.update = rows.length === 1 ? rows[0]! : Y.mergeUpdates(rows)
    const only = accepted.length === 1 ? accepted[0] : undefined
    c.frame = whole && rows.length === 1 && only?.frame && rows[0] === only.update ? only.frame : undefined
    this.committing = true
    return true
  }

  private parts(): ParkedParts {
    const { maxPendingBytes, pendingTimeoutMs, maxNestingDepth } = this.ctx.config
    return (this.parked ??= new ParkedParts({ room: this.name, maxPendingBytes, pendingTimeoutMs, maxNestingDepth, metrics: this.ctx.metrics, log: this.ctx.log }))
  }

  /** The sender's answer to our sync step 1 carries everything we lack, its missing part included. */
  private askForMissing(from: UpdateSender): void {
    this.whenSettled(from, (state) => from.send(state.step1()))
  }

  private refuse(a: Arrival, err: unknown): void {
    this.budget.unreserve(a.info)
    if (err instanceof IntegrationFailed) {
      this.poisoned = true
      this.ctx.log.warn({ room: this.name, err: err.message }, 'update refused: Yjs could not integrate it; the document is rebuilt from the store')
      this.ctx.metrics.rejectedFrames.labels('invalid-update').inc()
      a.from?.close(CloseCode.InvalidPayload, 'invalid-update')
      return
    }
    const pe = err instanceof ProtocolError ? err : new ProtocolError(String(err), CloseCode.InvalidPayload, 'invalid-update')
    this.ctx.metrics.rejectedFrames.labels(pe.reason).inc()
    this.ctx.log.warn({ room: this.name, reason: pe.reason, msg: pe.message }, 'update refused')
    a.from?.close(pe.closeCode, pe.reason)
  }

  // ------------------------------------------------------------------------------------------
  // After the store

  /** The commit is stored and relayed: acknowledge, then answer the sync requests that waited. */
  committed(c: RoomCommit): void {
    acknowledgeAll(c.arrivals)
    this.takeReleasing(releaseResolved)
    this.settle()
  }

  /** Nothing of these arrivals was stored, but the document may hold them: it is rebuilt. */
  failed(arrivals: Arrival[]): void {
    for (const a of arrivals) a.from?.close(CloseCode.InternalError, 'update could not be stored')
    // Parked parts that integrated into this commit's row are lost with it: their senders resync.
    this.takeReleasing((resolved) => {
      for (const r of resolved) r.from.close(CloseCode.InternalError, 'update could not be stored')
    })
    this.poisoned = true
    this.settle()
  }

  private takeReleasing(fn: (resolved: Retried['resolved']) => void): void {
    const resolved = this.releasing
    this.releasing = undefined
    if (resolved) fn(resolved)
  }

  private settle(): void {
    this.committing = false
    if (this.poisoned) {
      this.poisoned = false
      this.rebuild()
      return
    }
    this.runDeferred()
  }

  private runDeferred(): void {
    const replies = this.deferred
    if (!replies) return
    this.deferred = undefined
    for (const reply of replies) reply()
  }

  /** Reloads the document from the store (its source of truth), then lets what waited through. */
  private rebuild(): void {
    this.ctx.metrics.roomRebuilds.inc()
    this.rebuilding = (async () => {
      try {
        const stored = await loadStoredState(this.name, this.ctx)
        if (this.destroyed) return
        // Rows stored meanwhile by other servers are in it; their fan-out may never come (and a
        // catch-up will not re-read them): peers get what the old document lacked.
        const before = this.state.stateVector()
        this.state.replace(stored.update)
        this.load(stored)
        const gained = Y.diffUpdate(stored.update, before)
        this.onRebuilt(stored, gained.length > 2 ? gained : undefined)
      } catch (err) {
        this.ctx.log.error({ err, room: this.name }, 'rebuilding a room from the store failed; closing its connections')
        this.onLost()
      }
    })().finally(() => {
      this.rebuilding = undefined
      const waiting = this.waiting
      this.waiting = undefined
      if (waiting?.length) this.ctx.committer.requeue(waiting)
      this.runDeferred()
    })
  }

  // ------------------------------------------------------------------------------------------
  // What another server stored (fan-out, catch-up)

  /**
   * An update another server stored and published. Peer servers are as untrusted as clients:
   * the same gate, its pending parts parked like anyone's, a failure rebuilds the document.
   * Returns what to relay to this server's peers, or undefined.
   */
  applyStored(update: Uint8Array, relay: (update: Uint8Array) => void): void {
    if (this.committing || this.rebuilding) {
      // Not now: the store has it; apply it once the document can take it.
      void this.settled().then(() => this.destroyed || this.applyStored(update, relay))
      return
    }
    let info: UpdateInfo
    try {
      info = inspectUpdate(update)
    } catch {
      this.ctx.log.warn({ room: this.name }, 'fan-out update that does not decode; ignored')
      return
    }
    try {
      const r = integrate(this.doc, update, FANOUT_ORIGIN, { maxNestingDepth: this.ctx.config.maxNestingDepth, hasTypes: info.types > 0 })
      if (r.pending) this.parts().park(r.pending, undefined, 0)
      const relayed = r.pending ? r.integrated : update
      this.state.changed()
      if (relayed) relay(relayed)
      this.retryParkedSoon()
    } catch (err) {
      this.ctx.log.warn({ room: this.name, err: (err as Error).message }, 'fan-out update refused by the gate')
      if (err instanceof IntegrationFailed) this.rebuildNow()
    }
  }

  /** A part of a row another server stored that cannot integrate yet (catch-up). */
  parkStored(parts: PendingParts): void {
    this.parts().park(parts, undefined, 0)
  }

  /** A catch-up's rows were applied (catch-up.ts) and Yjs threw part-way. */
  rebuildNow(): void {
    this.poisoned = true
    if (!this.committing) this.settle()
  }

  /** The document changed outside a commit (a catch-up applied stored rows). */
  changed(): void {
    this.state.changed()
    this.retryParkedSoon()
  }

  /** Parked parts the document may now resolve are integrated, stored and relayed by a commit. */
  private retryParkedSoon(): void {
    if (this.parked?.size) this.ctx.committer.enqueue({ room: this.room, update: EMPTY_UPDATE, info: NOTHING, from: undefined, message: 0, frame: undefined })
  }

  destroy(): void {
    this.destroyed = true
    this.parked?.destroy()
    this.runDeferred()
    this.state.destroy()
  }
}

const EMPTY_UPDATE = new Uint8Array([0, 0])
const NOTHING: UpdateInfo = Object.freeze({ hasContent: false, structs: 0, types: 0 })
