import {
  MessageType,
  type Frame,
  isEmptyUpdate,
  readAwarenessUpdate,
  readAwarenessHeaders,
  sliceAwarenessUpdate,
  writeAwareness,
  writeSyncUpdate,
} from '@tandem/sync'
import { CloseCode, ProtocolError } from '@tandem/sync'
import type { FanoutDelivery } from '../fanout/types.js'
import type { RoomContext } from './context.js'
import type { StoredState } from './stored-state.js'
import { CatchUp } from './catch-up.js'
import { Compactor } from './compaction.js'
import { Presence } from '../presence/states.js'
import { PresenceOwners } from '../presence/owners.js'
import { sharedFrame, type SharedFrame } from '../net/ws-frame.js'
import type { Arrival, CommitRoom, RoomCommit, UpdateSender } from '../update/commit.js'
import { RoomDocument } from '../update/document.js'
import { inspectUpdate } from '../update/inspect.js'
import { relay } from '../update/relay.js'
import type { Writer } from '../history/history.js'
import type { RowEvent } from '../store/outbox.js'

/** What a room needs from a connection. */
export interface RoomPeer extends UpdateSender {
  readonly id: number
  readonly access: 'write' | 'read'
  /** who the connection's token names (its `sub`): whose released awareness ids it may reclaim (presence/owners.ts) */
  readonly principal: string | undefined
  /** who writes on it, for change records: its principal (required here, so no kind of peer leaves it out) */
  readonly author: string | undefined
  /** `syncReply`: the initial state for this peer, allowed on top of the slow-consumer limit */
  send(frame: Uint8Array, syncReply?: boolean): void
  /** the same message for many peers: framed once, on first use; false when it was not sent (closing) */
  sendShared(frame: SharedFrame): boolean
  /** a write from a read-only connection: warn once, then close with 1008 */
  rejectWrite(): void
  /** an update's structs, charged to the sender's inbound byte budget (throws 1008 when spent) */
  chargeStructs(structs: number): void
}

/**
 * One document and the connections editing it: its peers, what they send (dispatched here),
 * their presence, and the relay. The document itself, as the update path sees it, is a
 * RoomDocument (update/document.ts); the stages an update goes through are in update/.
 */
export class Room implements CommitRoom {
  readonly presence = new Presence()
  readonly peers = new Set<RoomPeer>()
  /** which connection may change which awareness client id, and how much presence each holds (created on the first awareness state) */
  private owners: PresenceOwners<RoomPeer> | undefined
  private readonly document: RoomDocument
  private readonly compactor: Compactor
  private readonly catchUp: CatchUp
  /** set by `shut` (the room was deleted): every peer, present or joining, is closed with it */
  private shutWith: { code: number; reason: string } | undefined

  /** A room from its stored (healed) state: room/loader.ts. */
  constructor(
    readonly name: string,
    private readonly ctx: RoomContext,
    stored: StoredState,
  ) {
    this.document = new RoomDocument(name, ctx, this, stored, (s, gained) => this.rebuilt(s, gained), () => this.lost())
    this.compactor = new Compactor(name, this.document, ctx, stored)
    this.catchUp = new CatchUp(
      name,
      {
        store: ctx.store,
        maxNestingDepth: ctx.config.maxNestingDepth,
        park: (parts) => this.document.parkStored(parts),
        document: async () => {
          await this.document.settled()
          return this.document.doc
        },
        applied: (delta, seen) => {
          this.compactor.seen(seen)
          if (delta === 'failed') this.document.rebuildNow()
          else if (delta) {
            this.document.changed()
            this.broadcast(writeSyncUpdate(delta), undefined, MessageType.Sync)
          }
        },
      },
      stored.lastSeq,
    )
  }

  /** The document's Y.Doc (created on first use). */
  get doc() {
    return this.document.doc
  }

  /** Whether the Y.Doc exists yet (an idle room is its stored bytes). */
  get materialized(): boolean {
    return this.document.materialized
  }

  // ------------------------------------------------------------------------------------------
  // Peers

  join(peer: RoomPeer): void {
    // An upgrade that acquired the room before it was deleted (room/registry.ts `remove`).
    if (this.shutWith) return peer.close(this.shutWith.code, this.shutWith.reason)
    this.peers.add(peer)
    this.ctx.fanout.setClients?.(this.name, this.peers.size)
    this.document.whenSettled(peer, (state) => peer.send(state.step1()))
    if (this.presence.size > 0) peer.send(writeAwareness(this.presence.encodeAll()))
  }

  leave(peer: RoomPeer): void {
    if (!this.peers.delete(peer)) return
    this.ctx.fanout.setClients?.(this.name, this.peers.size)
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
        this.document.whenSettled(peer, (state) => peer.send(state.step2For(stateVector), true))
        return
      }
      case 'sync-step2':
      case 'sync-update':
        this.receiveUpdate(peer, frame.update, frame.type === 'sync-update' ? raw : undefined)
        return
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

  /** Stage 1 of the update path (update/inspect.ts): checked and counted, then queued for the commit. */
  private receiveUpdate(peer: RoomPeer, update: Uint8Array, frame: Uint8Array | undefined): void {
    // A synced peer answers our step 1 with an empty update: nothing to store or relay.
    if (isEmptyUpdate(update)) {
      peer.acks?.receive(false)
      return
    }
    // Read-only is enforced by dropping the whole message, never by filtering its content.
    if (peer.access !== 'write') return peer.rejectWrite()
    const info = inspectUpdate(update) // 1007 unless Yjs can decode all of it
    if (!info.hasContent) {
      peer.acks?.receive(false)
      return
    }
    // The document's budget first (4413: stop retrying), then the sender's rate (1008).
    this.document.reserve(info, update.length, () => this.compactor.soon())
    peer.chargeStructs(info.structs)
    const message = peer.acks?.receive(true) ?? 0
    this.ctx.committer.enqueue({ room: this, update, info, from: peer, message, frame })
  }

  /**
   * An update the server writes itself (the HTTP API), through the same stage 1 as a peer's:
   * inspected in full (ProtocolError 1007), the room's budget reserved (4413), then the commit
   * queue. `from` hears a refusal of the update through `close`, as a connection would; `stored`
   * is told once its row is stored and relayed (0: `expect` no longer held). Returns false for an
   * update with nothing in it (nothing to store; `stored` is not called).
   */
  submit(update: Uint8Array, from: UpdateSender, hooks: { expect?: number; stored: (seq: number) => void; event?: RowEvent }): boolean {
    if (this.shutWith) throw new ProtocolError('the room was deleted', this.shutWith.code, this.shutWith.reason)
    const info = inspectUpdate(update)
    if (!info.hasContent) return false
    this.document.reserve(info, update.length, () => this.compactor.soon())
    this.ctx.committer.enqueue({ room: this, update, info, from, message: 0, frame: undefined, expect: hooks.expect, stored: hooks.stored, event: hooks.event })
    return true
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
  // The commit (update/commit.ts calls these, in this order)

  integrate(c: RoomCommit): boolean {
    return this.document.integrate(c)
  }

  relay(c: RoomCommit): void {
    relay(c, (frame, except) => this.broadcast(frame, except as RoomPeer | undefined, MessageType.Sync))
  }

  committed(c: RoomCommit): void {
    this.compactor.stored(c.seq, c.update.length)
    this.document.committed(c)
    this.ctx.fanout.publish(this.name, { kind: 'update', payload: c.update })
    this.compactor.ifDue()
    this.ctx.history?.edited(this.name, c.seq, this.writers(c))
  }

  /** Who wrote a stored row (version history): its senders that are connections of this room. */
  private writers(c: RoomCommit): Writer[] {
    const out: Writer[] = []
    for (const a of c.arrivals) {
      const peer = a.from as RoomPeer | undefined
      if (!peer || !this.peers.has(peer)) continue
      out.push({ id: peer.author, connection: peer.id, name: () => this.presenceName(peer) })
    }
    return out
  }

  /** The name `peer` shows in presence (awareness `user.name`), if any. */
  private presenceName(peer: RoomPeer): string | undefined {
    const ids = this.owners?.idsOf(peer)
    if (!ids?.length) return undefined
    for (const e of readAwarenessUpdate(this.presence.encode(ids))) {
      const name = (e.state as { user?: { name?: unknown } } | null)?.user?.name
      if (typeof name === 'string' && name !== '') return name.slice(0, 100)
    }
    return undefined
  }

  failed(arrivals: Arrival[]): void {
    this.document.failed(arrivals)
  }

  private rebuilt(stored: StoredState, gained: Uint8Array | undefined): void {
    this.compactor.seen(stored.lastSeq)
    this.catchUp.reset(stored.lastSeq)
    if (gained) this.broadcast(writeSyncUpdate(gained), undefined, MessageType.Sync)
  }

  /** The room is being deleted: its peers are closed with `code`, and so is any that joins later. */
  shut(code: number, reason: string): void {
    this.shutWith = { code, reason }
    for (const p of this.peers) p.close(code, reason)
  }

  /** The store could not be read to rebuild the document: nobody may be served from it. */
  private lost(): void {
    for (const p of this.peers) p.close(CloseCode.InternalError, 'room unavailable; reconnect')
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
    if (msg.kind === 'deleted') return // the registry's (room/registry.ts): never delivered here
    if (msg.kind === 'update') {
      this.ctx.history?.touched(this.name)
      this.document.applyStored(msg.payload, (relayed) => this.broadcast(writeSyncUpdate(relayed), undefined, MessageType.Sync))
    } else if ((this.owners ??= new PresenceOwners(this.presence, this.ctx.config)).fromServer(msg.payload)) {
      this.broadcast(writeAwareness(msg.payload), undefined, MessageType.Awareness)
    } else {
      this.ctx.log.warn({ room: this.name }, 'fan-out: awareness update failing the presence checks dropped')
    }
  }

  /** Reads what the store has beyond what this room has seen (room/catch-up.ts). */
  catchUpFromStore(): Promise<void> {
    return this.catchUp.run()
  }

  /** The whole state as one update (the HTTP API): only what is stored. */
  encodeState(): Promise<Uint8Array> {
    return this.document.encodeState()
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
    if (n === 0) return
    this.ctx.metrics.messagesOut.add(type, n)
    this.ctx.metrics.bytesOut.add(type, n * frame.length)
  }

  // ------------------------------------------------------------------------------------------
  // Compaction (room/compaction.ts)

  get needsSnapshot(): boolean {
    return this.compactor.needed
  }

  compactIfDue(): void {
    this.compactor.ifDue()
  }

  compactSoon(): void {
    this.compactor.soon()
  }

  compact(): Promise<void> {
    return this.compactor.now()
  }

  destroy(): void {
    this.catchUp.destroy()
    this.compactor.destroy()
    this.document.destroy()
    this.presence.clear()
    this.peers.clear()
    this.owners?.clear()
  }
}
