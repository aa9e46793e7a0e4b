import * as encoding from 'lib0/encoding'
import { ProtocolError, writeAwarenessUpdate, type AwarenessEntry, type AwarenessHeader } from '@tandem/sync'
import { isJsonUtf8 } from './json-bytes.js'

/** Like y-protocols: a state not renewed for this long is no longer handed to joiners. */
export const PRESENCE_TIMEOUT_MS = 30_000

interface Entry {
  clock: number
  /** the entry exactly as received (clientID, clock, JSON state), or null once the client left */
  bytes: Uint8Array | null
  /** Date.now() of the last accepted update */
  at: number
}

/**
 * A room's presence (awareness) as the server needs it: the latest entry per client id, kept as
 * the bytes the client sent. Same acceptance rules as y-protocols' `applyAwarenessUpdate` (a
 * higher clock wins; a null state at the same clock removes), so it interoperates with every
 * y-protocols client, but without what a relay never uses: no parsed state objects kept, no deep
 * comparisons, no change events, and no 3 s timer per room (stale states are dropped when read).
 * Thousands of rooms each with a y-protocols Awareness cost ~1 KiB and a timer apiece.
 */
export class Presence {
  /** created on the first state: most rooms of an idle server never see one */
  private clients: Map<number, Entry> | undefined
  private present = 0

  /** clients with a state (not left, not timed out as of the last read) */
  get size(): number {
    return this.present
  }

  has(clientID: number): boolean {
    return !!this.clients?.get(clientID)?.bytes
  }

  /**
   * Applies an awareness update whose framing `headers` already validated (readAwarenessHeaders).
   * Every state must be JSON: a client that sends anything else is closed (1007) before any
   * other client could choke on it.
   */
  apply(update: Uint8Array, headers: readonly AwarenessHeader[], now = Date.now()): void {
    for (const h of headers) {
      if (!h.isNull) assertJson(update, h)
    }
    const clients = (this.clients ??= new Map())
    for (const h of headers) {
      const e = clients.get(h.clientID)
      const clock = e?.clock ?? 0
      if (clock < h.clock || (clock === h.clock && h.isNull && e?.bytes)) {
        const bytes = h.isNull ? null : update.slice(h.start, h.end)
        if (e) {
          this.present += (bytes ? 1 : 0) - (e.bytes ? 1 : 0)
          e.clock = h.clock
          e.bytes = bytes
          e.at = now
        } else {
          if (bytes) this.present++
          clients.set(h.clientID, { clock: h.clock, bytes, at: now })
        }
      }
    }
  }

  /** The update a joiner or a query-awareness gets: every current state (an empty update when none). */
  encodeAll(now = Date.now()): Uint8Array {
    this.expire(now)
    return this.encode(this.clients?.keys() ?? [])
  }

  /** An update with the current states of `ids` (those without one are left out). */
  encode(ids: Iterable<number>): Uint8Array {
    const e = encoding.createEncoder()
    const entries: Uint8Array[] = []
    for (const id of ids) {
      const bytes = this.clients?.get(id)?.bytes
      if (bytes) entries.push(bytes)
    }
    encoding.writeVarUint(e, entries.length)
    for (const b of entries) encoding.writeUint8Array(e, b)
    return encoding.toUint8Array(e)
  }

  /**
   * Their connection closed: removes the states of `ids` and returns the update that tells
   * everyone else (null states one clock ahead, as y-protocols' removeAwarenessStates), or
   * undefined when none of them had a state.
   */
  remove(ids: Iterable<number>, now = Date.now()): Uint8Array | undefined {
    const gone: AwarenessEntry[] = []
    for (const clientID of ids) {
      const entry = this.clients?.get(clientID)
      if (!entry?.bytes) continue
      entry.clock++
      entry.bytes = null
      entry.at = now
      this.present--
      gone.push({ clientID, clock: entry.clock, state: null })
    }
    return gone.length ? writeAwarenessUpdate(gone) : undefined
  }

  /** Drops states nobody renewed within PRESENCE_TIMEOUT_MS (their clock is kept, so a late stale update stays ignored). */
  private expire(now: number): void {
    if (!this.clients) return
    for (const entry of this.clients.values()) {
      if (entry.bytes && now - entry.at >= PRESENCE_TIMEOUT_MS) {
        entry.bytes = null
        this.present--
      }
    }
  }

  clear(): void {
    this.clients = undefined
    this.present = 0
  }
}

/** Throws 1007 unless the entry's state is JSON a y-protocols client can read (UTF-8, then JSON.parse). */
function assertJson(update: Uint8Array, h: AwarenessHeader): void {
  if (!isJsonUtf8(update, h.stateStart, h.end)) {
    throw new ProtocolError('invalid awareness state: not UTF-8 JSON', 1007, 'awareness-json')
  }
}
