import * as encoding from 'lib0/encoding'
import { CloseCode, JSON_OK, JSON_TOO_DEEP, MAX_JSON_DEPTH, ProtocolError, checkJsonUtf8, readAwarenessHeaders, writeAwarenessUpdate, type AwarenessEntry, type AwarenessHeader } from '@tandem/sync'

/** Like y-protocols: a state not renewed for this long is no longer handed to joiners. */
export const PRESENCE_TIMEOUT_MS = 30_000

/**
 * The highest clock accepted (2^53 − 2). When a connection closes, the server announces its
 * clients' removal one clock ahead (y-protocols' removeAwarenessStates does the same), and that
 * clock must still be a safe integer: lib0 happily encodes 2^53, but Tandem's SyncProvider, like
 * any decoder that checks, refuses it as malformed and drops the connection. One state at
 * 2^53 − 1 and a disconnect made every client in the room reconnect.
 */
export const MAX_AWARENESS_CLOCK = Number.MAX_SAFE_INTEGER - 1

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
   * Applies an awareness update whose framing `headers` already validated (readAwarenessHeaders):
   * `check`, then `applyChecked`. Throws, changing nothing, for an entry `check` refuses.
   */
  apply(update: Uint8Array, headers: readonly AwarenessHeader[], now = Date.now()): readonly AwarenessHeader[] {
    this.check(update, headers)
    return this.applyChecked(update, headers, now)
  }

  /**
   * Throws ProtocolError 1007 unless every entry is one each y-protocols receiver can take: a
   * clock of at most MAX_AWARENESS_CLOCK (`awareness-clock`), a state that is UTF-8 JSON
   * (`awareness-json`) nested at most MAX_JSON_DEPTH deep (`awareness-depth`). The sender is
   * closed before any other client could choke on it. From another server (`source` 'server'),
   * a removal may carry MAX_AWARENESS_CLOCK + 1: that server's own announcement of a state at
   * the highest clock leaving.
   */
  check(update: Uint8Array, headers: readonly AwarenessHeader[], source: 'client' | 'server' = 'client'): void {
    for (const h of headers) {
      if (h.clock > MAX_AWARENESS_CLOCK && !(source === 'server' && h.isNull)) {
        throw new ProtocolError(`awareness clock above ${MAX_AWARENESS_CLOCK}`, CloseCode.InvalidPayload, 'awareness-clock')
      }
      if (h.isNull) continue
      const verdict = checkJsonUtf8(update, h.stateStart, h.end)
      if (verdict === JSON_OK) continue
      if (verdict === JSON_TOO_DEEP) {
        throw new ProtocolError(`invalid awareness state: JSON nested deeper than ${MAX_JSON_DEPTH}`, CloseCode.InvalidPayload, 'awareness-depth')
      }
      throw new ProtocolError('invalid awareness state: not UTF-8 JSON', CloseCode.InvalidPayload, 'awareness-json')
    }
  }

  /**
   * Whether applying `h` would change anything (y-protocols' rule): a newer clock, or a removal
   * at the same clock of a state still held.
   */
  changes(h: AwarenessHeader): boolean {
    const e = this.clients?.get(h.clientID)
    const clock = e?.clock ?? 0
    return clock < h.clock || (clock === h.clock && h.isNull && !!e?.bytes)
  }

  /** Applies entries `check` accepted; returns those that changed something (`headers` itself when all did). */
  applyChecked(update: Uint8Array, headers: readonly AwarenessHeader[], now = Date.now()): readonly AwarenessHeader[] {
    const clients = (this.clients ??= new Map<number, Entry>())
    let changed: AwarenessHeader[] | undefined
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i]!
      if (!this.changes(h)) {
        changed ??= headers.slice(0, i)
        continue
      }
      changed?.push(h)
      const e = clients.get(h.clientID)
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
    return changed ?? headers
  }

  /**
   * An update another server published (fan-out): its clients reach ours through it, so it is
   * checked like a client's (`check`, source 'server'). Returns false, changing nothing, when it
   * fails (there is no connection to close: the caller drops it).
   */
  applyFromServer(update: Uint8Array, now = Date.now()): boolean {
    return this.acceptFromServer(update, now) !== undefined
  }

  /** applyFromServer, returning the entries it applied (undefined when it refused the update). */
  acceptFromServer(update: Uint8Array, now = Date.now()): AwarenessHeader[] | undefined {
    let headers: AwarenessHeader[]
    try {
      headers = readAwarenessHeaders(update)
      this.check(update, headers, 'server')
    } catch (err) {
      if (err instanceof ProtocolError) return undefined
      throw err
    }
    this.applyChecked(update, headers, now)
    return headers
  }

  /**
   * Forgets `clientID`'s clock when it has no state (its reservation was evicted: see
   * presence/owners.ts). Without this, every client id ever seen would stay for the room's life.
   */
  forget(clientID: number): void {
    if (this.clients?.get(clientID)?.bytes === null) this.clients.delete(clientID)
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
   * everyone else (null states one clock ahead, as y-protocols' removeAwarenessStates; at most
   * 2^53 − 1, since a state's clock passed `check`), or undefined when none of them had a state.
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
