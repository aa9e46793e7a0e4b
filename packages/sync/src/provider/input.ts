/**
 * Where bytes from a server or another tab meet Yjs and y-protocols. Both libraries throw on
 * input they otherwise accept, so nothing a peer sends reaches them unchecked:
 *
 *  - lib0's readVarUint throws on a varUint past 2^53 (a presence clock of 2^70, say), and
 *    y-protocols' applyAwarenessUpdate compares a peer's new state with its previous one with
 *    the recursive `equalityDeep`: two states nested 30,000 deep overflow the stack. Awareness
 *    updates are therefore read here, each entry checked on its own (`readAwarenessGuarded`),
 *    and the entries that pass are applied here (`applyAwarenessEntries`, y-protocols' rules):
 *    one bad entry costs only itself, and a valid update is parsed once, not twice.
 *  - Yjs deletes and garbage-collects nested types recursively: an update that creates a type
 *    nested 10,000 deep and deletes it throws RangeError half-way through, and when the throw
 *    comes from Yjs' transaction cleanup the Y.Doc never finishes that transaction again (no
 *    more 'update' events, observers or GC: it is unusable). `applyUpdateGuarded` tells those
 *    cases apart from an application observer that threw.
 *  - Yjs can half-apply a truncated update (see validateUpdate in protocol/frame.ts), so an
 *    update or state vector from the server is checked whole before anything uses it
 *    (`checkPayload`).
 */
import * as Y from 'yjs'
import type * as awarenessProtocol from 'y-protocols/awareness'
import { equalityDeep } from 'lib0/function'
import { CloseCode, ProtocolError } from '../protocol/errors.js'
import { type AwarenessEntry, type Frame, isEmptyUpdate, validateUpdate } from '../protocol/frame.js'

/** Deepest nesting of arrays and objects accepted in a presence state (the server's bound too). */
export const MAX_AWARENESS_DEPTH = 64
/** Largest presence clock accepted: what a JavaScript number holds exactly (2^53 − 1). */
const MAX_AWARENESS_CLOCK = Number.MAX_SAFE_INTEGER

/** An awareness update after the guard: the entries that passed, and why others did not. */
export interface GuardedAwareness {
  entries: AwarenessEntry[]
  /** entries the update held */
  total: number
  /** null when every entry passed; otherwise says how many were dropped and why the first was */
  dropped: ProtocolError | null
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

interface Cursor {
  pos: number
}

const truncated = (what: string): ProtocolError => new ProtocolError(`truncated ${what}`, CloseCode.InvalidPayload, 'truncated')

/**
 * A varUint of any length, consumed whole so the entries after it can still be read; NaN when
 * it is past 2^53 − 1. Only a truncated one throws.
 */
function readVarUintLenient(bytes: Uint8Array, c: Cursor, what: string): number {
  let n = 0
  let mult = 1
  for (;;) {
    if (c.pos >= bytes.length) throw truncated(what)
    const b = bytes[c.pos++]!
    const bits = b & 0x7f
    // Exact while the sum stays ≤ 2^53 − 1; past it (mult may even reach Infinity) it stays past it.
    if (bits !== 0) n += bits * mult
    if (b < 0x80) return n <= Number.MAX_SAFE_INTEGER ? n : NaN
    mult *= 128
  }
}

/** True when the JSON text nests arrays and objects deeper than `limit`. One pass, no allocation. */
export function jsonDeeperThan(bytes: Uint8Array, start: number, end: number, limit: number): boolean {
  let depth = 0
  let inString = false
  for (let i = start; i < end; i++) {
    const b = bytes[i]!
    if (inString) {
      if (b === 0x5c) i++ // backslash: the next byte is escaped
      else if (b === 0x22) inString = false
    } else if (b === 0x22) {
      inString = true
    } else if (b === 0x7b || b === 0x5b) {
      if (++depth > limit) return true
    } else if (b === 0x7d || b === 0x5d) {
      depth--
    }
  }
  return false
}

/** The parsed state of one entry, or why it is refused. */
function readState(bytes: Uint8Array, start: number, end: number): { state: unknown } | ProtocolError {
  // Before parsing: JSON.parse would build the deep value, and it is the deep value that hurts.
  if (jsonDeeperThan(bytes, start, end, MAX_AWARENESS_DEPTH)) {
    return new ProtocolError(`awareness state nests deeper than ${MAX_AWARENESS_DEPTH}`, CloseCode.InvalidPayload, 'awareness-depth')
  }
  let json: string
  try {
    json = utf8.decode(bytes.subarray(start, end))
  } catch {
    return new ProtocolError('awareness state is not valid UTF-8', CloseCode.InvalidPayload, 'utf8')
  }
  try {
    return { state: JSON.parse(json) as unknown }
  } catch {
    return new ProtocolError('awareness state is not JSON', CloseCode.InvalidPayload, 'awareness-json')
  }
}

/**
 * Reads an awareness update (varUint(n) n × { varUint(clientID) varUint(clock) varString(JSON) }),
 * keeping the entries that pass: client id and clock ≤ 2^53 − 1, state valid UTF-8 JSON nested
 * at most MAX_AWARENESS_DEPTH deep. Throws ProtocolError only when the framing itself is broken
 * (truncated, a length past the end, trailing bytes): then no entry can be trusted.
 *
 * Cost per entry: one scan of the state's bytes for its depth, one UTF-8 decode, one JSON.parse.
 */
export function readAwarenessGuarded(update: Uint8Array): GuardedAwareness {
  const c: Cursor = { pos: 0 }
  const total = readVarUintLenient(update, c, 'awareness count')
  // Each entry takes at least 3 bytes: a larger count is a lie (and NaN fails this too).
  if (!(total <= update.length)) throw new ProtocolError('awareness count exceeds payload', CloseCode.InvalidPayload, 'awareness')
  const entries: AwarenessEntry[] = []
  let first: ProtocolError | null = null
  for (let i = 0; i < total; i++) {
    const clientID = readVarUintLenient(update, c, 'awareness clientID')
    const clock = readVarUintLenient(update, c, 'awareness clock')
    const length = readVarUintLenient(update, c, 'awareness state length')
    if (!(length <= update.length - c.pos)) throw truncated('awareness state')
    const start = c.pos
    c.pos += length
    let problem: ProtocolError | null = null
    if (Number.isNaN(clientID)) {
      problem = new ProtocolError('awareness client id past 2^53 − 1', CloseCode.InvalidPayload, 'awareness-client')
    } else if (Number.isNaN(clock) || clock > MAX_AWARENESS_CLOCK) {
      problem = new ProtocolError('awareness clock past 2^53 − 1', CloseCode.InvalidPayload, 'awareness-clock')
    } else {
      const read = readState(update, start, c.pos)
      if (read instanceof ProtocolError) problem = read
      else entries.push({ clientID, clock, state: read.state })
    }
    first ??= problem
  }
  if (c.pos !== update.length) throw new ProtocolError('trailing bytes in awareness update', CloseCode.InvalidPayload, 'trailing')
  const dropped =
    first === null
      ? null
      : new ProtocolError(`dropped ${total - entries.length} of ${total} awareness entries (first: ${first.message})`, first.closeCode, first.reason)
  return { entries, total, dropped }
}

/** Payload of Awareness' 'change' and 'update' events. */
interface Changes {
  added: number[]
  updated: number[]
  removed: number[]
}

/**
 * Applies entries that passed readAwarenessGuarded, with y-protocols' applyAwarenessUpdate
 * rules (1.0.7), minus its parsing: a newer clock wins; a null state removes the client, except
 * that a remote removal of our own live state only bumps our clock so we re-announce ourselves.
 * One deviation: that bump is skipped when it would pass 2^53 − 1, which would make every later
 * announcement of ours one the server refuses. Emits 'change' and 'update' like y-protocols:
 * a throw from there is an application listener's.
 */
export function applyAwarenessEntries(awareness: awarenessProtocol.Awareness, entries: readonly AwarenessEntry[], origin: unknown): void {
  const timestamp = Date.now() // y-protocols: lib0 time.getUnixTime()
  const added: number[] = []
  const updated: number[] = []
  const filteredUpdated: number[] = []
  const removed: number[] = []
  for (const entry of entries) {
    const { clientID, state } = entry
    let clock = entry.clock
    const clientMeta = awareness.meta.get(clientID)
    const prevState = awareness.states.get(clientID)
    const currClock = clientMeta === undefined ? 0 : clientMeta.clock
    if (!(currClock < clock || (currClock === clock && state === null && awareness.states.has(clientID)))) continue
    if (state === null) {
      if (clientID === awareness.clientID && awareness.getLocalState() != null) {
        if (clock >= MAX_AWARENESS_CLOCK) continue
        clock++
      } else {
        awareness.states.delete(clientID)
      }
    } else {
      awareness.states.set(clientID, state as Record<string, unknown>)
    }
    awareness.meta.set(clientID, { clock, lastUpdated: timestamp })
    if (clientMeta === undefined && state !== null) {
      added.push(clientID)
    } else if (clientMeta !== undefined && state === null) {
      removed.push(clientID)
    } else if (state !== null) {
      // Both states passed the depth guard (or one is ours), so this recursion is bounded.
      if (!equalityDeep(state, prevState)) filteredUpdated.push(clientID)
      updated.push(clientID)
    }
  }
  if (added.length > 0 || filteredUpdated.length > 0 || removed.length > 0) {
    awareness.emit('change', [{ added, updated: filteredUpdated, removed } satisfies Changes, origin])
  }
  if (added.length > 0 || updated.length > 0 || removed.length > 0) {
    awareness.emit('update', [{ added, updated, removed } satisfies Changes, origin])
  }
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** No transaction running or waiting for its cleanup. */
const idle = (doc: Y.Doc): boolean => doc._transaction === null && doc._transactionCleanups.length === 0

/**
 * Applies a remote update (already fully decoded by validateUpdate) and says what went wrong:
 *  - null: applied. A throw: it was applied, and an application observer threw (Yjs still ran
 *    every observer and finished the transaction); the caller reports it as a listener error.
 *  - ProtocolError 'invalid-update': Yjs threw while integrating it (the update may be half
 *    applied; the doc itself is fine). The connection that carried it should be dropped.
 *  - ProtocolError 'doc-broken': the Y.Doc was left mid-transaction (Yjs' cleanup threw, e.g.
 *    garbage-collecting a type nested thousands deep). Nothing the provider can do repairs it.
 *
 * The update runs inside a transaction of our own (remote, as Y.applyUpdate's would be), so a
 * throw from integrating it is caught inside, before the cleanup runs the observers. The doc
 * is broken when a transaction started idle and its cleanup chain did not finish: Yjs empties
 * `_transactionCleanups` as the chain's last step. (Called while another transaction is open
 * or being cleaned up, which a socket or channel event never is, that is not checked: the
 * enclosing cleanup runs ours later.)
 */
export function applyUpdateGuarded(doc: Y.Doc, update: Uint8Array, origin: unknown): ProtocolError | null {
  const wasIdle = idle(doc)
  let integrating: { error: unknown } | null = null
  let cleanup: { error: unknown } | null = null
  try {
    Y.transact(
      doc,
      () => {
        try {
          Y.applyUpdate(doc, update, origin)
        } catch (error) {
          integrating = { error }
        }
      },
      origin,
      false,
    )
  } catch (error) {
    cleanup = { error }
  }
  const failed: { error: unknown } | null = integrating ?? cleanup
  if (wasIdle && !idle(doc)) {
    return new ProtocolError(
      `the Y.Doc is unusable: Yjs could not finish the transaction applying an update (${message(failed?.error)})`,
      CloseCode.InvalidPayload,
      'doc-broken',
    )
  }
  if (integrating !== null) {
    // (the cast: TypeScript does not see the callback's assignment, and takes `integrating` for null)
    return new ProtocolError(`Yjs could not apply an update: ${message((integrating as { error: unknown }).error)}`, CloseCode.InvalidPayload, 'invalid-update')
  }
  if (cleanup !== null) throw cleanup.error
  return null
}

/**
 * Throws ProtocolError unless the frame's payload can be applied whole: nothing is applied
 * before this passes. Awareness is not checked here: its entries are checked one by one where
 * it is applied (readAwarenessGuarded), so one bad entry costs only itself and a valid update
 * is parsed once.
 */
export function checkPayload(frame: Frame): void {
  switch (frame.type) {
    case 'sync-step1':
      try {
        Y.decodeStateVector(frame.stateVector)
      } catch (err) {
        throw new ProtocolError(`invalid state vector: ${(err as Error).message}`, CloseCode.InvalidPayload, 'invalid-state-vector')
      }
      return
    case 'sync-step2':
    case 'sync-update':
      if (!isEmptyUpdate(frame.update)) validateUpdate(frame.update)
      return
    default:
      return
  }
}
