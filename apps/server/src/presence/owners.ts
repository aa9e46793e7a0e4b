import { CloseCode, ProtocolError, type AwarenessHeader } from '@tandem/sync'
import type { Config } from '../config.js'
import type { Presence } from './states.js'

/** What presence ownership needs to know about a connection (a RoomPeer). */
export interface PresenceClaimant {
  readonly access: 'write' | 'read'
  /** who the connection's token names (its `sub`); undefined on an open server or for a token without one */
  readonly principal: string | undefined
}

export type PresenceLimits = Pick<Config, 'maxAwarenessBytes' | 'maxPresenceBytesPerConnection'>

/**
 * The least a client id counts against its connection's budget, whatever its state: the server
 * keeps an entry (the clock) for every id, and a removed state is 0 bytes, so this is what bounds
 * the ids one connection can hold (4096 at the default 256 KiB).
 */
export const MIN_ID_COST_BYTES = 64
/** Released ids kept reserved per principal; past it, that principal's oldest reservation is freed. */
export const MAX_RESERVED_PER_PRINCIPAL = 32
/** Released ids kept reserved per room; past it, the room's oldest reservation is freed. */
export const MAX_RESERVED_PER_ROOM = 1024
/** Client ids another server's connections used that this room remembers; past it, the oldest is forgotten. */
export const MAX_REMOTE_IDS = 4096

interface Holder<P> {
  peer: P
  /** what this id counts against the peer's budget: its last accepted entry's bytes, at least MIN_ID_COST_BYTES */
  cost: number
}

interface Holdings {
  ids: Set<number>
  cost: number
}

/**
 * Who may change which awareness client id in one room, and how much presence each connection
 * holds (docs/architecture.md, invariant "Presence safety"). The ONE place for it: Room asks it
 * what to relay and tells it who left.
 *
 * - A connection holds the ids whose state it set (an entry the room's Presence accepted). Only
 *   it may change them while it is connected: no spoofing another user's caret.
 * - When it leaves, its ids stay reserved for the room's lifetime: only a connection with the
 *   same principal (token `sub`) may claim them again. Without a principal (open server, token
 *   without `sub`), any write connection may reclaim a released id; a read-only connection never
 *   claims an id another connection used. Otherwise a viewer could claim a departed writer's id
 *   with a huge clock, and the writer's own state would be refused when it came back.
 * - Reservations are bounded: MAX_RESERVED_PER_PRINCIPAL per principal (so one token cannot
 *   flush the others' reservations by churning ids), MAX_RESERVED_PER_ROOM in all; the oldest goes
 *   first, and its clock is forgotten with it.
 * - The bytes of the states one connection holds are bounded by MAX_PRESENCE_BYTES_PER_CONNECTION
 *   (each id counting at least MIN_ID_COST_BYTES), so no connection makes every joiner download
 *   megabytes of presence.
 *
 * - Ids other servers' connections use (their presence arrives over the fan-out, which does not
 *   say whose they are): only a write connection may change them here, never a viewer. A writer
 *   must be able to: a user whose server died reconnects here with the same id while the dead
 *   server's copy of its state lingers (until the fan-out declares that server gone). So a viewer
 *   can never impersonate anyone, on any server; across servers the protection from a hostile
 *   WRITER is per access level, not per principal.
 *
 * Entries for ids a connection may not change are dropped, not relayed, as for spoofing. Anything
 * else wrong closes the connection (ProtocolError), before any state changed.
 */
export class PresenceOwners<P extends PresenceClaimant> {
  /** client id → the connection holding it now */
  private readonly held = new Map<number, Holder<P>>()
  private readonly holdings = new Map<P, Holdings>()
  /** released client id → its reservation bucket; insertion order is release order, oldest first */
  private readonly reserved = new Map<number, string>()
  /** bucket → its reserved ids, oldest first */
  private readonly buckets = new Map<string, Set<number>>()
  /** ids other servers' connections used, least recently seen first */
  private readonly remote = new Set<number>()

  constructor(
    private readonly presence: Presence,
    private readonly limits: PresenceLimits,
  ) {}

  /**
   * Applies `peer`'s awareness update to the room's presence and returns the entries to relay:
   * those for ids it may change (`headers` itself when that is all of them). Throws ProtocolError,
   * changing nothing: 1008 `awareness-too-large` (one entry above MAX_AWARENESS_BYTES), 1007 for
   * an entry Presence.check refuses, 1008 `presence-over-budget`.
   */
  receive(peer: P, update: Uint8Array, headers: readonly AwarenessHeader[]): readonly AwarenessHeader[] {
    let kept = headers
    for (let i = 0; i < headers.length; i++) {
      if (this.mayChange(peer, headers[i]!.clientID)) continue
      kept = headers.filter((h) => this.mayChange(peer, h.clientID))
      break
    }
    if (kept.length === 0) return kept
    // Cap what one client can make every other client hold and render.
    for (const h of kept) {
      if (h.end - h.start > this.limits.maxAwarenessBytes) {
        throw new ProtocolError('awareness state too large', CloseCode.PolicyViolation, 'awareness-too-large')
      }
    }
    this.presence.check(update, kept)
    this.checkBudget(peer, kept)
    const changed = this.presence.applyChecked(update, kept)
    for (const h of changed) this.hold(peer, h)
    return kept
  }

  /**
   * `peer` left: its ids become reserved. Returns the update removing their states (for everyone
   * else), or undefined when none had one.
   */
  leave(peer: P): Uint8Array | undefined {
    const mine = this.holdings.get(peer)
    if (!mine) return undefined
    this.holdings.delete(peer)
    for (const id of mine.ids) this.held.delete(id)
    // Removed before they are reserved: a reservation evicted right away forgets a clock, which
    // Presence only does for an id without a state.
    const removal = this.presence.remove(mine.ids)
    const bucket = bucketOf(peer)
    for (const id of mine.ids) this.reserve(id, bucket)
    return removal
  }

  /**
   * Presence another server published (the fan-out): applied to the room's presence when it
   * passes the same checks as a client's (false, changing nothing, when it does not); the ids it
   * names that no connection here holds are remembered as another server's.
   */
  fromServer(update: Uint8Array): boolean {
    const headers = this.presence.acceptFromServer(update)
    if (!headers) return false
    for (const h of headers) {
      if (this.held.has(h.clientID)) continue
      this.remote.delete(h.clientID)
      this.remote.add(h.clientID)
      if (this.remote.size > MAX_REMOTE_IDS) this.remote.delete(first(this.remote))
    }
    return true
  }

  /** The ids `peer` holds (version history reads the names they show). */
  idsOf(peer: P): number[] {
    return [...(this.holdings.get(peer)?.ids ?? [])]
  }

  /** The ids held by this server's connections (another server asks for their states). */
  heldIds(): number[] {
    return [...this.held.keys()]
  }

  clear(): void {
    this.remote.clear()
    this.held.clear()
    this.holdings.clear()
    this.reserved.clear()
    this.buckets.clear()
  }

  private mayChange(peer: P, clientID: number): boolean {
    const holder = this.held.get(clientID)
    if (holder) return holder.peer === peer
    if (this.remote.has(clientID)) return peer.access === 'write'
    const bucket = this.reserved.get(clientID)
    if (bucket === undefined) return true
    if (peer.principal !== undefined) return bucket === bucketOf(peer)
    return peer.access === 'write' && bucket.startsWith(ANONYMOUS)
  }

  /** Throws 1008 if accepting `kept` would put `peer` over MAX_PRESENCE_BYTES_PER_CONNECTION. */
  private checkBudget(peer: P, kept: readonly AwarenessHeader[]): void {
    let cost = this.holdings.get(peer)?.cost ?? 0
    for (const h of kept) {
      if (!this.presence.changes(h)) continue
      const holder = this.held.get(h.clientID)
      cost += costOf(h) - (holder ? holder.cost : 0)
    }
    if (cost > this.limits.maxPresenceBytesPerConnection) {
      throw new ProtocolError(
        `presence above ${this.limits.maxPresenceBytesPerConnection} bytes for one connection`,
        CloseCode.PolicyViolation,
        'presence-over-budget',
      )
    }
  }

  /** `h` (an id `peer` may change) was accepted: `peer` holds its id, at its new cost. */
  private hold(peer: P, h: AwarenessHeader): void {
    const cost = costOf(h)
    let mine = this.holdings.get(peer)
    if (!mine) {
      mine = { ids: new Set(), cost: 0 }
      this.holdings.set(peer, mine)
    }
    const holder = this.held.get(h.clientID)
    if (holder) {
      mine.cost += cost - holder.cost
      holder.cost = cost
      return
    }
    if (this.reserved.has(h.clientID)) this.unreserve(h.clientID)
    this.remote.delete(h.clientID)
    this.held.set(h.clientID, { peer, cost })
    mine.ids.add(h.clientID)
    mine.cost += cost
  }

  private reserve(clientID: number, bucket: string): void {
    this.reserved.set(clientID, bucket)
    let ids = this.buckets.get(bucket)
    if (!ids) {
      ids = new Set()
      this.buckets.set(bucket, ids)
    }
    ids.add(clientID)
    if (ids.size > MAX_RESERVED_PER_PRINCIPAL) this.evict(first(ids))
    if (this.reserved.size > MAX_RESERVED_PER_ROOM) this.evict(first(this.reserved.keys()))
  }

  private unreserve(clientID: number): void {
    const bucket = this.reserved.get(clientID)!
    this.reserved.delete(clientID)
    const ids = this.buckets.get(bucket)!
    ids.delete(clientID)
    if (ids.size === 0) this.buckets.delete(bucket)
  }

  /** Frees the oldest reservation of a full bucket or room: the id is anyone's again, its clock forgotten. */
  private evict(clientID: number): void {
    this.unreserve(clientID)
    this.presence.forget(clientID)
  }
}

const ANONYMOUS = 'anonymous:'

/** Whose reservations an id joins: the principal's, or (none) one bucket per access level. */
const bucketOf = (peer: PresenceClaimant): string =>
  peer.principal !== undefined ? `sub:${peer.principal}` : `${ANONYMOUS}${peer.access}`

const costOf = (h: AwarenessHeader): number => Math.max(h.isNull ? 0 : h.end - h.start, MIN_ID_COST_BYTES)

const first = (ids: Iterable<number>): number => {
  for (const id of ids) return id
  throw new Error('empty')
}
