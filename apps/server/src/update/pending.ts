import * as Y from 'yjs'
import type { PendingParts } from './integrate.js'

/**
 * A room's parked update parts: what Yjs could not integrate yet because something it depends
 * on has not arrived. That is legitimate (tabs of one browser share edits over BroadcastChannel,
 * so the server can receive an edit before the one it builds on) and hostile alike (a delete set
 * naming megabytes of ranges of a client nobody has seen). So every part is bounded (bytes and
 * count per room, age), retried only when the document gained what it waits for (never
 * re-read on every update, as Yjs' own pending slots are), and dropped with its sender closed
 * (4002, it reconnects and the sync exchange repairs what is missing) when it cannot be
 * resolved in time.
 */
export interface Parked<O> {
  parts: PendingParts
  bytes: number
  /** the connection whose update left this part, and that update's message number ("saved" hold) */
  origin: O | undefined
  ack: number
  at: number
  retries: number
  /** client → a clock: once the document has it (state > clock), the part can make progress */
  needs: Map<number, number>
}

export interface PendingLimits {
  maxBytes: number
  maxParts: number
  timeoutMs: number
}

export class PendingBuffer<O> {
  private parked: Parked<O>[] = []
  private total = 0

  constructor(private readonly limits: PendingLimits) {}

  get size(): number {
    return this.parked.length
  }

  get bytes(): number {
    return this.total
  }

  /** Parks `parts`; false (nothing parked) when the room's budget would be exceeded. */
  park(parts: PendingParts, origin: O | undefined, ack: number, now: number, retries = 0): boolean {
    const bytes = (parts.structs?.update.length ?? 0) + (parts.ds?.length ?? 0)
    if (this.total + bytes > this.limits.maxBytes || this.parked.length >= this.limits.maxParts) return false
    this.parked.push({ parts, bytes, origin, ack, at: now, retries, needs: needsOf(parts) })
    this.total += bytes
    return true
  }

  /** Takes out the parts that can make progress now (the document has something they wait for). */
  takeReady(store: Y.Doc['store']): Parked<O>[] {
    if (this.parked.length === 0) return []
    const ready: Parked<O>[] = []
    this.parked = this.parked.filter((p) => {
      for (const [client, clock] of p.needs) {
        if (Y.getState(store, client) > clock) {
          ready.push(p)
          this.total -= p.bytes
          return false
        }
      }
      return true
    })
    return ready
  }

  /** Takes out the parts older than the timeout. */
  takeExpired(now: number): Parked<O>[] {
    const expired = this.parked.filter((p) => now - p.at >= this.limits.timeoutMs)
    if (expired.length) this.remove(expired)
    return expired
  }

  /** When the oldest part expires (undefined when nothing is parked). */
  nextExpiry(): number | undefined {
    let oldest: number | undefined
    for (const p of this.parked) if (oldest === undefined || p.at < oldest) oldest = p.at
    return oldest === undefined ? undefined : oldest + this.limits.timeoutMs
  }

  clear(): void {
    this.parked = []
    this.total = 0
  }

  private remove(parts: Parked<O>[]): void {
    const gone = new Set(parts)
    this.parked = this.parked.filter((p) => !gone.has(p))
    for (const p of parts) this.total -= p.bytes
  }
}

/** What a part waits for: Yjs' own `missing` for structs; the lowest pending clock per client for deletes. */
function needsOf(parts: PendingParts): Map<number, number> {
  const needs = new Map<number, number>(parts.structs?.missing ?? [])
  if (parts.ds) {
    for (const [client, ranges] of Y.decodeUpdateV2(parts.ds).ds.clients) {
      let low = Infinity
      for (const r of ranges) if (r.clock < low) low = r.clock
      const had = needs.get(client)
      if (had === undefined || low < had) needs.set(client, low)
    }
  }
  return needs
}
