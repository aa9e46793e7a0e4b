import {
  CloseCode,
  MessageType,
  ProtocolError,
  type Frame,
  isEmptyUpdate,
  readAwarenessHeaders,
  sliceAwarenessUpdate,
  writeAwareness,
  writeSyncUpdate,
} from '@tandem/sync'
import * as Y from 'yjs'
import type { CommittedRoom, PendingUpdate } from '../update/commit.js'
import type { FanoutDelivery } from '../fanout/types.js'
import { API_ORIGIN, FANOUT_ORIGIN, type TxOrigin } from './tx-origins.js'
import type { RoomContext } from './context.js'
import { DocState } from './doc-state.js'
import { applyStoredRows } from './catch-up.js'
import { Presence } from '../presence/states.js'
import { PresenceOwners } from '../presence/owners.js'
import { sharedFrame, type SharedFrame } from '../net/ws-frame.js'
import { IntegrationFailed, countStructs, inspectUpdate, integrate, type PendingParts, type UpdateInfo } from '../update/integrate.js'
import { PendingBuffer, type Parked } from '../update/pending.js'
import { loadStoredState, type StoredState } from './stored-state.js'

const EMPTY_UPDATE = new Uint8Array([0, 0])
const NOTHING: UpdateInfo = Object.freeze({ hasContent: false, structs: 0, types: 0 })

/** What a room needs from a connection. */
export interface RoomPeer {
  readonly id: number
  readonly access: 'write' | 'read'
  readonly txOrigin: TxOrigin
  /** who the connection's token names (its `sub`): whose released awareness ids it may reclaim (presence-owners.ts) */
  readonly principal: string | undefined
  /** `syncReply`: the initial state for this peer, allowed on top of the slow-consumer limit */
  send(frame: Uint8Array, syncReply?: boolean): void
  /** the same message for many peers: framed once, on first use; false when it was not sent (closing) */
  sendShared(frame: SharedFrame): boolean
  /** a write from a read-only connection: warn once, then close with 1008 */
  rejectWrite(): void
  /** every sync step 2 / update message, in order (for "saved" acknowledgements); returns its number */
  updateReceived(enqueued: boolean): number
  /** `n` of this peer's updates were committed, the last being message number `through` */
  committed(n: number, through: number): void
  /** an update's structs, charged to the sender's inbound byte budget (throws 1008 when spent) */
  chargeStructs(structs: number): void
  /** message `n` left a part the room could not integrate yet: no "saved" from it on until released */
  hold(n: number): void
  release(n: number): void
  close(code: number, reason: string): void
}

/**
 * One document: its state, its presence and the connections editing it.
 * Update path: validate → group-commit to the store → relay the same bytes to every other peer
 * → apply. Nothing reaches a peer before the store has it.
 */
export class Room {
  readonly presence = new Presence()
  readonly peers = new Set<RoomPeer>()
  /** which connection may change which awareness client id, and how much presence each holds (created on the first awareness state) */
  private owners: PresenceOwners<RoomPeer> | undefined

  /** highest store seq applied to `doc` */
  lastSeq = 0
  /**
   * Every stored row of this room with seq <= storeSyncedSeq is in `doc`: set after the load and
   * by each catch-up. Not `lastSeq`: with several servers, this room's own commits run ahead of rows
   * another server committed earlier whose fan-out message is still in flight, or was lost.
   */
  storeSyncedSeq = 0
  private catchingUp: Promise<void> | undefined
  private catchUpAgain = false
  private destroyed = false
  /** log growth since the last snapshot, to decide when to compact */
  private sinceSnapshot = { updates: 0, bytes: 0 }
  private compacting: Promise<void> | undefined

  /** the document (a Y.Doc from its first change on) and the sync replies joiners share */
  private readonly docState = new DocState()

  /**
   * While a commit of this room is in flight its Y.Doc holds updates the store does not have
   * yet (they are integrated before they are stored: update-gate.ts), and while it is rebuilt
   * from the store it holds nothing trustworthy: sync replies wait for either to end, so no peer
   * ever receives anything the store does not have.
   */
  private committing = false
  private rebuilding: Promise<void> | undefined
  private deferred: Array<() => void> | undefined
  /** set when Yjs threw part-way through an update: the doc is rebuilt from the store after the commit */
  private poisoned = false
  /** entries that arrived for the commit queue while the room was rebuilding */
  private waiting: CommittedRoom<Room, RoomPeer>['entries'] | undefined

  /** parts of updates waiting for what they depend on (created on first use) */
  private pending: PendingBuffer<RoomPeer> | undefined
  private pendingTimer: NodeJS.Timeout | undefined

  /**
   * Document budget (MAX_DOC_STRUCTS, MAX_DOC_BYTES): upper-bound estimates, raised when an
   * update is accepted for the commit queue and made exact (structs counted, snapshot size) when
   * an estimate reaches its limit.
   */
  private budget = { structs: 0, bytes: 0 }

  constructor(
    readonly name: string,
    private readonly ctx: RoomContext,
  ) {
  }

  /** The document: no Y.Doc exists until its first use (the first change, a fan-out, a catch-up; see DocState). */
  get doc(): Y.Doc {
    return this.docState.doc
  }

  /** Whether the Y.Doc exists yet. */
  get materialized(): boolean {
    return this.docState.materialized
  }

  /** Takes the state loaded (and healed) from the store. */
  loadState(state: StoredState): void {
    this.docState.load(state.update)
    this.lastSeq = Math.max(this.lastSeq, state.lastSeq)
    this.sinceSnapshot = { updates: state.logRows, bytes: state.logBytes }
    this.budget = { structs: state.structs, bytes: state.bytes }
  }

  // ------------------------------------------------------------------------------------------
  // Peers

  join(peer: RoomPeer): void {
    this.peers.add(peer)
    this.whenSettled(peer, () => peer.send(this.docState.step1()))
    if (this.presence.size > 0) peer.send(writeAwareness(this.presence.encodeAll()))
  }

  leave(peer: RoomPeer): void {
    if (!this.peers.delete(peer)) return
    const update = this.owners?.leave(peer)
    if (!update) return
    this.broadcast(writeAwareness(update), undefined, MessageType.Awareness)
    this.ctx.fanout.publish(this.name, { kind: 'awareness', payload: update })
  }

  get isEmpty(): boolean {
    return this.peers.size === 0
  }

  // ------------------------------------------------------------------------------------------
  // Inbound frames (already decoded; errors thrown here close only the sender)

  handle(peer: RoomPeer, frame: Frame, raw: Uint8Array): void {
    switch (frame.type) {
      case 'sync-step1': {
        const { stateVector } = frame
        this.whenSettled(peer, () => peer.send(this.docState.step2For(stateVector), true))
        return
      }
      case 'sync-step2':
      case 'sync-update': {
        const { update } = frame
        // A synced peer answers our step 1 with an empty update: nothing to store or relay.
        if (isEmptyUpdate(update)) {
          peer.updateReceived(false)
          return
        }
        // Read-only is enforced by dropping the whole message, never by filtering its content.
        if (peer.access !== 'write') return peer.rejectWrite()
        const info = inspectUpdate(update) // 1007 unless Yjs can decode all of it
        if (!info.hasContent) {
          peer.updateReceived(false)
          return
        }
        peer.chargeStructs(info.structs)
        this.reserve(info, update.length)
        const number = peer.updateReceived(true)
        this.ctx.committer.enqueue(this, update, peer, frame.type === 'sync-update' ? raw : undefined, number, info)
        return
      }
      case 'awareness':
        this.receiveAwareness(peer, frame.update, raw)
        return
      case 'query-awareness':
        peer.send(writeAwareness(this.presence.encodeAll()))
        return
      case 'auth-denied':
      case 'saved':
        // Only servers send these; a client sending one is confused but harmless.
        return
    }
  }

  private receiveAwareness(peer: RoomPeer, update: Uint8Array, raw: Uint8Array): void {
    const headers = readAwarenessHeaders(update)
    if (headers.length === 0) return
    // Only entries for client ids this connection may change (no spoofing others' carets), after
    // the size, clock, JSON and per-connection budget checks; a bad one throws, closing the sender.
    const kept = (this.owners ??= new PresenceOwners(this.presence, this.ctx.config)).receive(peer, update, headers)
    if (kept.length === 0) return
    const payload = kept === headers ? update : sliceAwarenessUpdate(update, kept)
    this.broadcast(kept === headers ? raw : writeAwareness(payload), peer, MessageType.Awareness)
    this.ctx.fanout.publish(this.name, { kind: 'awareness', payload })
  }

  // ------------------------------------------------------------------------------------------
  // Budgets (checked on arrival, before anything is decoded twice or applied)

  /**
   * Refuses an update that would take the document past MAX_DOC_STRUCTS or (when it inserts)
   * MAX_DOC_BYTES: 4413, and the sender stops retrying. Deletes always pass, so a full document
   * can still be trimmed. The estimates only grow here; they are made exact when they reach a limit.
   */
  private reserve(info: UpdateInfo, bytes: number): void {
    const { maxDocStructs, maxDocBytes } = this.ctx.config
    if (info.structs === 0) return
    if (this.budget.structs + info.structs > maxDocStructs && this.countStructs() + info.structs > maxDocStructs) {
      throw new ProtocolError(`the document would hold more than ${maxDocStructs} structs`, CloseCode.DocTooLarge, 'doc-too-large')
    }
    if (this.budget.bytes + bytes > maxDocBytes) {
      // The estimate only learns about deletions from a snapshot: take one, then refuse this update.
      if (this.needsSnapshot) this.compactSoon()
      throw new ProtocolError(`the document would grow past ${maxDocBytes} bytes`, CloseCode.DocTooLarge, 'doc-too-large')
    }
    this.budget.structs += info.structs
    this.budget.bytes += bytes
  }

  private countStructs(): number {
    if (!this.docState.materialized) return this.budget.structs
    return (this.budget.structs = countStructs(this.doc))
  }

  // ------------------------------------------------------------------------------------------
  // The commit of this room's updates (called by the committer, in this order)

  /**
   * Integrates this commit's updates into the document before anything is stored
   * (update-gate.ts). A refused update closes its sender (1007 / 4002) and is neither stored nor
   * relayed; what integrated is merged into the row to store. Returns whether there is one.
   */
  integrate(c: CommittedRoom<Room, RoomPeer>): boolean {
    if (this.rebuilding) {
      // The document is being reloaded from the store: these wait for it.
      ;(this.waiting ??= []).push(...c.entries)
      return false
    }
    const doc = this.doc
    const rows: Uint8Array[] = []
    const accepted: typeof c.entries = []
    let whole = true
    for (let i = 0; i < c.entries.length; i++) {
      const e = c.entries[i]!
      if (!e.info.hasContent) continue // a nudge to retry parked parts (see receiveStored)
      if (this.poisoned) {
        // The document is not trustworthy until it is rebuilt: the rest of this commit resyncs.
        e.origin?.close(CloseCode.InternalError, 'update could not be integrated; reconnect')
        continue
      }
      try {
        const result = integrate(doc, e.update, e.origin?.txOrigin ?? API_ORIGIN, {
          maxNestingDepth: this.ctx.config.maxNestingDepth,
          hasTypes: e.info.types > 0,
        })
        accepted.push(e)
        if (result.pending === undefined) {
          rows.push(e.update)
          continue
        }
        whole = false
        if (result.integrated) rows.push(result.integrated)
        this.park(result.pending, e.origin, e.ack)
      } catch (err) {
        this.refused(e, err)
      }
    }
    if (!this.poisoned) rows.push(...this.retryParked(doc))
    if (rows.length === 0 && accepted.length === 0) {
      if (this.poisoned) this.settle()
      return false
    }
    this.docState.changed()
    c.entries = accepted
    if (rows.length === 0) {
      // Everything that came is parked: acknowledge what is not held.
      this.acknowledge(accepted)
      if (this.poisoned) this.settle()
      return false
    }
    c.update = rows.length === 1 ? rows[0]! : Y.mergeUpdates(rows)
    const only = accepted.length === 1 ? accepted[0] : undefined
    c.frame = whole && rows.length === 1 && only?.frame && rows[0] === only.update ? only.frame : undefined
    this.committing = true
    return true
  }

  private refused(e: CommittedRoom<Room, RoomPeer>['entries'][number], err: unknown): void {
    this.budget.structs -= e.info.structs
    if (err instanceof IntegrationFailed) {
      this.poisoned = true
      this.ctx.log.warn({ room: this.name, err: err.message }, 'update refused: Yjs could not integrate it; the document is rebuilt from the store')
      this.ctx.metrics.rejectedFrames.labels('invalid-update').inc()
      e.origin?.close(CloseCode.InvalidPayload, 'invalid-update')
      return
    }
    const pe = err instanceof ProtocolError ? err : new ProtocolError(String(err), CloseCode.InvalidPayload, 'invalid-update')
    this.ctx.metrics.rejectedFrames.labels(pe.reason).inc()
    this.ctx.log.warn({ room: this.name, reason: pe.reason, msg: pe.message }, 'update refused')
    e.origin?.close(pe.closeCode, pe.reason)
  }

  /**
   * Stored and integrated: relayed to every peer. ONE frame per commit, the same bytes for every
   * receiver, whatever the number of updates merged into it (fewer syscalls and frames; Hocuspocus
   * merges per event-loop turn too). A lone sender never gets its own update back. When several
   * connections wrote in the same turn, each gets the room's frame, its own update included:
   * applying that is a no-op for a Yjs client, and it saves a merge and an encode per writer.
   */
  relayCommitted({ entries, update, frame }: CommittedRoom<Room, RoomPeer>): void {
    const sender = entries[0]?.origin
    let alone = sender !== undefined
    for (let i = 1; i < entries.length && alone; i++) if (entries[i]!.origin !== sender) alone = false
    this.broadcast(frame ?? writeSyncUpdate(update), alone ? sender : undefined, MessageType.Sync)
  }

  /** After the relay: bookkeeping, "saved" acknowledgements, the fan-out, compaction. */
  applyCommitted({ entries, update, seq }: CommittedRoom<Room, RoomPeer>): void {
    this.lastSeq = Math.max(this.lastSeq, seq)
    this.sinceSnapshot.updates++
    this.sinceSnapshot.bytes += update.length
    this.acknowledge(entries)
    this.ctx.fanout.publish(this.name, { kind: 'update', payload: update })
    this.settle()
    this.compactIfDue()
  }

  /** Tells each sender how far its updates are stored (only peers that negotiated acks get a frame). */
  private acknowledge(entries: PendingUpdate<Room, RoomPeer>[]): void {
    if (entries.length === 1) {
      const e = entries[0]!
      e.origin?.committed(1, e.ack)
      return
    }
    const perOrigin = new Map<RoomPeer, { n: number; through: number }>()
    for (const e of entries) {
      if (!e.origin) continue
      const c = perOrigin.get(e.origin)
      if (c) {
        c.n++
        c.through = e.ack
      } else perOrigin.set(e.origin, { n: 1, through: e.ack })
    }
    for (const [origin, c] of perOrigin) origin.committed(c.n, c.through)
  }

  /**
   * The commit failed (nothing was stored, so nothing is relayed): the senders resync on
   * reconnect, and the document, which already integrated their updates, is rebuilt from the store.
   */
  commitFailed(entries: PendingUpdate<Room, RoomPeer>[]): void {
    for (const e of entries) e.origin?.close(CloseCode.InternalError, 'update could not be stored')
    if (this.committing || this.poisoned) this.poisoned = true
    this.settle()
  }

  /** The commit is over: rebuild if the document cannot be trusted, else answer the waiting sync requests. */
  private settle(): void {
    this.committing = false
    if (this.poisoned) {
      this.poisoned = false
      this.rebuild()
      return
    }
    this.runDeferred()
  }

  /** Runs `reply` now, or once the document holds only what the store has (see `committing`). */
  private whenSettled(peer: RoomPeer, reply: () => void): void {
    const run = () => {
      try {
        reply()
      } catch (err) {
        const pe = err instanceof ProtocolError ? err : new ProtocolError(String(err), CloseCode.InternalError, 'internal')
        peer.close(pe.closeCode, pe.reason)
      }
    }
    if (!this.committing && !this.rebuilding) return run()
    ;(this.deferred ??= []).push(run)
  }

  private runDeferred(): void {
    const replies = this.deferred
    if (!replies) return
    this.deferred = undefined
    for (const reply of replies) reply()
  }

  /** Reloads the document from the store (its source of truth), then lets the waiting updates and replies through. */
  private rebuild(): void {
    this.ctx.metrics.roomRebuilds.inc()
    this.rebuilding = (async () => {
      try {
        const state = await loadStoredState(this.name, this.ctx)
        if (this.destroyed) return
        this.docState.replace(state.update)
        this.loadState(state)
        this.storeSyncedSeq = Math.max(this.storeSyncedSeq, state.lastSeq)
      } catch (err) {
        // The store is unreachable: nobody may be served from a document we cannot trust.
        this.ctx.log.error({ err, room: this.name }, 'rebuilding a room from the store failed; closing its connections')
        for (const p of this.peers) p.close(CloseCode.InternalError, 'room unavailable; reconnect')
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
  // Parked parts (pending.ts): bounded, retried when what they wait for arrives, else dropped

  private park(parts: PendingParts, origin: RoomPeer | undefined, ack: number, retries = 0): void {
    const { maxPendingBytes, pendingTimeoutMs } = this.ctx.config
    const buffer = (this.pending ??= new PendingBuffer<RoomPeer>({ maxBytes: maxPendingBytes, maxParts: 64, timeoutMs: pendingTimeoutMs, maxRetries: 8 }))
    if (!buffer.park(parts, origin, ack, Date.now(), retries)) {
      this.ctx.metrics.rejectedFrames.labels('pending-over-budget').inc()
      origin?.close(CloseCode.PendingUnresolved, 'pending-over-budget')
      return
    }
    if (retries === 0) origin?.hold(ack)
    // Ask the sender for what is missing: its answer to our step 1 carries everything we lack.
    if (origin) this.whenSettled(origin, () => origin.send(this.docState.step1()))
    this.armPendingTimer()
  }

  /** Integrates the parked parts that can make progress now; returns what they added (to store). */
  private retryParked(doc: Y.Doc): Uint8Array[] {
    const ready = this.pending?.takeReady(doc.store)
    if (!ready?.length) return []
    const rows: Uint8Array[] = []
    for (const p of ready) rows.push(...this.retryOne(doc, p))
    return rows
  }

  private retryOne(doc: Y.Doc, p: Parked<RoomPeer>): Uint8Array[] {
    const rows: Uint8Array[] = []
    const again: PendingParts = { structs: null, ds: null }
    const parts = [p.parts.structs?.update, p.parts.ds].filter((u): u is Uint8Array => u !== undefined && u !== null)
    for (const part of parts) {
      try {
        const r = integrate(doc, part, p.origin?.txOrigin ?? API_ORIGIN, { maxNestingDepth: this.ctx.config.maxNestingDepth, hasTypes: true, v2: true })
        if (r.pending === undefined) {
          rows.push(Y.convertUpdateFormatV2ToV1(part))
          continue
        }
        if (r.integrated) rows.push(r.integrated)
        if (r.pending.structs) again.structs = r.pending.structs
        if (r.pending.ds) again.ds = r.pending.ds
      } catch (err) {
        if (err instanceof IntegrationFailed) this.poisoned = true
        p.origin?.close(CloseCode.InvalidPayload, 'invalid-update')
        return rows
      }
    }
    if (!again.structs && !again.ds) {
      p.origin?.release(p.ack)
    } else if (p.retries + 1 >= (this.pending?.maxRetries ?? 0)) {
      p.origin?.close(CloseCode.PendingUnresolved, 'pending-unresolved')
    } else {
      this.park(again, p.origin, p.ack, p.retries + 1)
    }
    return rows
  }

  private armPendingTimer(): void {
    if (this.pendingTimer || !this.pending?.size) return
    const due = this.pending.nextExpiry()
    if (due === undefined) return
    this.pendingTimer = setTimeout(() => {
      this.pendingTimer = undefined
      for (const p of this.pending?.takeExpired(Date.now()) ?? []) {
        this.ctx.metrics.rejectedFrames.labels('pending-unresolved').inc()
        this.ctx.log.info({ room: this.name, bytes: p.bytes }, 'dropped an update part whose dependencies never arrived')
        p.origin?.close(CloseCode.PendingUnresolved, 'pending-unresolved')
      }
      this.armPendingTimer()
    }, Math.max(0, due - Date.now()))
    this.pendingTimer.unref()
  }

  // ------------------------------------------------------------------------------------------
  // Other servers (fan-out): already stored by the server that accepted them

  receiveFanout(msg: FanoutDelivery): void {
    if (msg.kind === 'presence-query') {
      // Only the states of this server's own clients: the asker hears the others from their servers.
      const own = (this.owners?.heldIds() ?? []).filter((id) => this.presence.has(id))
      if (own.length) this.ctx.fanout.publish(this.name, { kind: 'awareness', payload: this.presence.encode(own) })
      return
    }
    if (msg.kind === 'update') {
      this.receiveStored(msg.payload)
    } else if (this.presence.applyFromServer(msg.payload)) {
      this.broadcast(writeAwareness(msg.payload), undefined, MessageType.Awareness)
    } else {
      this.ctx.log.warn({ room: this.name }, 'fan-out: awareness update failing the presence checks dropped')
    }
  }

  /**
   * The fan-out may have missed messages (Redis outage, a peer that died between commit and
   * publish): read what the store, the source of truth, has beyond `storeSyncedSeq`, apply it and
   * relay only what was new to this server's peers. This is the server-to-server sync step; it does
   * not rely on pub/sub having delivered everything. Coalesced: one run at a time, plus at most one
   * more if asked again meanwhile.
   */
  catchUp(): Promise<void> {
    if (this.catchingUp) {
      this.catchUpAgain = true
      return this.catchingUp
    }
    const run = async () => {
      do {
        this.catchUpAgain = false
        await this.catchUpOnce()
      } while (this.catchUpAgain && !this.destroyed)
    }
    this.catchingUp = run().finally(() => (this.catchingUp = undefined))
    return this.catchingUp
  }

  private async catchUpOnce(): Promise<void> {
    const { store } = this.ctx
    const since = this.storeSyncedSeq
    const loaded = store.loadSince ? await store.loadSince(this.name, since) : await store.load(this.name)
    if (this.destroyed) return
    // A rebuild reads the store itself; never apply to a document that is being replaced or mid-commit.
    await this.settled()
    if (this.destroyed) return
    const { delta, seen } = applyStoredRows(this.doc, loaded, since, FANOUT_ORIGIN, this.ctx.config.maxNestingDepth)
    if (delta === 'failed') this.rebuildNow()
    else if (delta) {
      this.docState.changed()
      this.broadcast(writeSyncUpdate(delta), undefined, MessageType.Sync)
    }
    this.storeSyncedSeq = Math.max(this.storeSyncedSeq, seen)
    this.lastSeq = Math.max(this.lastSeq, seen)
  }

  /**
   * An update another server stored and published. Peer servers are as untrusted as clients:
   * it passes the same gate, its pending parts are parked like anyone's, and a failure rebuilds
   * the document from the store (which has the update, if it is real).
   */
  private receiveStored(update: Uint8Array): void {
    if (this.committing || this.rebuilding) {
      // Not now: the store has it, and the next catch-up (or the rebuild) reads it from there.
      void this.settled().then(() => this.destroyed || this.receiveStored(update))
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
      if (r.pending) this.park(r.pending, undefined, 0)
      const relayed = r.pending ? r.integrated : update
      this.docState.changed()
      if (relayed) this.broadcast(writeSyncUpdate(relayed), undefined, MessageType.Sync)
      // Parked parts this made resolvable are integrated, stored and relayed by a commit.
      if (this.pending?.size) this.ctx.committer.enqueue(this, EMPTY_UPDATE, undefined, undefined, 0, NOTHING)
    } catch (err) {
      this.ctx.log.warn({ room: this.name, err: (err as Error).message }, 'fan-out update refused by the gate')
      if (err instanceof IntegrationFailed) this.rebuildNow()
    }
  }

  private rebuildNow(): void {
    this.poisoned = true
    if (!this.committing) this.settle()
  }

  /** Resolves when no commit is in flight and no rebuild is under way. */
  private settled(): Promise<void> {
    if (!this.committing && !this.rebuilding) return Promise.resolve()
    return new Promise((resolve) => (this.deferred ??= []).push(resolve))
  }


  /** The whole state as one update, computed once per document version (the HTTP API); only what is stored. */
  async encodeState(): Promise<Uint8Array> {
    await this.settled()
    return this.docState.state()
  }


  // ------------------------------------------------------------------------------------------
  // Relay

  /** Sends the same bytes to every peer but `except`: encoded once, whatever the room size. */
  broadcast(frame: Uint8Array, except: RoomPeer | undefined, type: MessageType): void {
    const shared = sharedFrame(frame)
    let n = 0
    for (const p of this.peers) {
      if (p === except) continue
      // Counted only when handed to a socket: a connection being closed gets nothing.
      if (p.sendShared(shared)) n++
    }
    this.countOut(type, n, frame.length)
  }

  private countOut(type: MessageType, n: number, bytes: number): void {
    if (n === 0) return
    this.ctx.metrics.messagesOut.add(type, n)
    this.ctx.metrics.bytesOut.add(type, n * bytes)
  }

  // ------------------------------------------------------------------------------------------
  // Compaction: fold the log into a snapshot so a restart does not replay a long log

  get needsSnapshot(): boolean {
    return this.sinceSnapshot.updates > 0
  }

  /** Schedules a snapshot when the log passed its count or size threshold (also right after a load). */
  compactIfDue(): void {
    const { compactAfterUpdates, compactAfterBytes } = this.ctx.config
    if (this.compactQueued) return
    if (this.sinceSnapshot.updates < compactAfterUpdates && this.sinceSnapshot.bytes < compactAfterBytes) return
    this.compactSoon()
  }
  private compactQueued = false
  private compactChain: Promise<void> | undefined

  /** Writes a snapshot of everything applied through `lastSeq` and drops those log rows. Serialized. */
  compact(): Promise<void> {
    const run = (this.compactChain ?? Promise.resolve()).then(() => this.writeSnapshot())
    this.compactChain = run.catch(() => {})
    return run
  }

  private async writeSnapshot(): Promise<void> {
    // Never snapshot updates that are not stored yet, nor a document that is being rebuilt.
    await this.settled()
    const counted = { ...this.sinceSnapshot }
    if (counted.updates === 0 || this.destroyed) return
    const snapshot = this.docState.snapshot()
    await this.ctx.store.compact(this.name, snapshot, this.lastSeq)
    this.sinceSnapshot.updates -= counted.updates
    this.sinceSnapshot.bytes -= counted.bytes
    // A snapshot is the exact size of what the log held: the byte budget restarts from it.
    this.budget.bytes = snapshot.length + this.sinceSnapshot.bytes
    this.ctx.metrics.compactions.inc()
  }

  /** Off the relay path: the snapshot is encoded after this turn's deliveries went out. */
  compactSoon(): void {
    if (this.compactQueued) return
    this.compactQueued = true
    setImmediate(() => {
      this.compact()
        .catch((err) => this.ctx.log.error({ err, room: this.name }, 'compaction failed; the log is kept'))
        .finally(() => (this.compactQueued = false))
    })
  }

  destroy(): void {
    this.destroyed = true
    if (this.pendingTimer) clearTimeout(this.pendingTimer)
    this.pendingTimer = undefined
    this.pending?.clear()
    this.runDeferred()
    this.presence.clear()
    this.peers.clear()
    this.owners?.clear()
    this.docState.destroy()
  }
}
