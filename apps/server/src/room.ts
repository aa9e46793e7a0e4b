import * as Y from 'yjs'
import {
  MessageType,
  type Frame,
  isEmptyUpdate,
  readAwarenessHeaders,
  sliceAwarenessUpdate,
  validateUpdate,
  writeAwareness,
  writeSyncUpdate,
} from '@tandem/sync'
import type { CommittedRoom, PendingUpdate } from './committer.js'
import type { FanoutDelivery } from './fanout/types.js'
import { API_ORIGIN, FANOUT_ORIGIN, type TxOrigin } from './origins.js'
import type { RoomContext } from './room-context.js'
import { DocState } from './doc-state.js'
import { applyStoredRows } from './store-rows.js'
import { Presence } from './presence.js'
import { PresenceOwners } from './presence-owners.js'
import { sharedFrame, type SharedFrame } from './ws-frame.js'

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

  /** Takes the state loaded from the store (rows already validated and merged by the loader). */
  loadState(update: Uint8Array, lastSeq: number, logRows: number, logBytes: number): void {
    this.docState.load(update)
    this.lastSeq = lastSeq
    this.sinceSnapshot = { updates: logRows, bytes: logBytes }
  }

  // ------------------------------------------------------------------------------------------
  // Peers

  join(peer: RoomPeer): void {
    this.peers.add(peer)
    peer.send(this.docState.step1())
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
      case 'sync-step1':
        peer.send(this.docState.step2For(frame.stateVector), true)
        return
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
        if (!validateUpdate(update)) {
          peer.updateReceived(false)
          return
        }
        const number = peer.updateReceived(true)
        this.ctx.committer.enqueue(this, update, peer, frame.type === 'sync-update' ? raw : undefined, number)
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
  // Committed updates (called by the committer after the store transaction)

  /**
   * Stored and fully parsed: relayed before it is applied, so peers are not kept waiting while Yjs
   * integrates (applying only matters to later joiners, and nothing can join in between: the
   * committer calls this and then `applyCommitted` in the same synchronous run).
   *
   * ONE frame per commit, the same bytes for every receiver, whatever the number of updates
   * merged into it (fewer syscalls and frames; Hocuspocus merges per event-loop turn too).
   * A lone sender never gets its own update back. When several connections wrote in the same
   * turn, each gets the room's frame, its own update included: applying that is a no-op for a
   * Yjs client, and it saves a merge and an encode per writer.
   */
  relayCommitted({ entries, update }: CommittedRoom<Room, RoomPeer>): void {
    const first = entries[0]!
    const sender = first.origin
    let alone = true
    for (let i = 1; i < entries.length; i++) {
      if (entries[i]!.origin !== sender) {
        alone = false
        break
      }
    }
    const frame = entries.length === 1 && first.frame ? first.frame : writeSyncUpdate(update)
    this.broadcast(frame, alone ? sender : undefined, MessageType.Sync)
  }

  applyCommitted({ entries, update, seq }: CommittedRoom<Room, RoomPeer>): void {
    this.lastSeq = Math.max(this.lastSeq, seq)
    this.sinceSnapshot.updates++
    this.sinceSnapshot.bytes += update.length
    const first = entries[0]!
    Y.applyUpdate(this.doc, update, entries.length === 1 ? (first.origin?.txOrigin ?? API_ORIGIN) : API_ORIGIN)
    this.docState.changed()
    this.acknowledge(entries)
    this.ctx.fanout.publish(this.name, { kind: 'update', payload: update })
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

  /** The commit failed: nothing was stored, so nothing is relayed; senders resync on reconnect. */
  commitFailed(entries: PendingUpdate<Room, RoomPeer>[]): void {
    for (const e of entries) e.origin?.close(1011, 'update could not be stored')
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
      if (!validateUpdate(msg.payload)) return
      Y.applyUpdate(this.doc, msg.payload, FANOUT_ORIGIN)
      this.docState.changed()
      this.broadcast(writeSyncUpdate(msg.payload), undefined, MessageType.Sync)
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
    const { delta, seen } = applyStoredRows(this.doc, loaded, since, FANOUT_ORIGIN)
    if (delta) {
      this.docState.changed()
      this.broadcast(writeSyncUpdate(delta), undefined, MessageType.Sync)
    }
    this.storeSyncedSeq = Math.max(this.storeSyncedSeq, seen)
    this.lastSeq = Math.max(this.lastSeq, seen)
  }


  /** The whole state as one update, computed once per document version (the HTTP API, snapshots). */
  encodeState(): Uint8Array {
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
    this.compactQueued = true
    // Off the relay path: the snapshot is encoded after this turn's deliveries went out.
    setImmediate(() => {
      this.compact()
        .catch((err) => this.ctx.log.error({ err, room: this.name }, 'compaction failed; the log is kept'))
        .finally(() => (this.compactQueued = false))
    })
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
    const counted = { ...this.sinceSnapshot }
    if (counted.updates === 0) return
    await this.ctx.store.compact(this.name, this.docState.snapshot(), this.lastSeq)
    this.sinceSnapshot.updates -= counted.updates
    this.sinceSnapshot.bytes -= counted.bytes
    this.ctx.metrics.compactions.inc()
  }

  destroy(): void {
    this.destroyed = true
    this.presence.clear()
    this.peers.clear()
    this.owners?.clear()
    this.docState.destroy()
  }
}
