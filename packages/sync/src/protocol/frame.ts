import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'
import { AuthType, MessageType, SyncType } from './message-type.js'
import { CloseCode, ProtocolError } from './errors.js'

/** A decoded frame. Payload arrays are views into the received bytes (no copy). */
export type Frame =
  | { type: 'sync-step1'; stateVector: Uint8Array }
  | { type: 'sync-step2'; update: Uint8Array }
  | { type: 'sync-update'; update: Uint8Array }
  | { type: 'awareness'; update: Uint8Array }
  | { type: 'auth-denied'; reason: string }
  | { type: 'query-awareness' }
  | { type: 'saved'; count: number }

// ---------------------------------------------------------------------------------------------
// Writers: each returns the whole frame, ready to send. Built on y-protocols/lib0 encoders.

const frameOf = (write: (e: encoding.Encoder) => void): Uint8Array => {
  const e = encoding.createEncoder()
  write(e)
  return encoding.toUint8Array(e)
}

/** Sync step 1 carrying `doc`'s state vector. */
export const writeSyncStep1 = (doc: Y.Doc): Uint8Array =>
  frameOf((e) => {
    encoding.writeVarUint(e, MessageType.Sync)
    syncProtocol.writeSyncStep1(e, doc)
  })

/** Sync step 1 from an already-encoded state vector. */
export const writeSyncStep1FromStateVector = (stateVector: Uint8Array): Uint8Array =>
  frameOf((e) => {
    encoding.writeVarUint(e, MessageType.Sync)
    encoding.writeVarUint(e, SyncType.Step1)
    encoding.writeVarUint8Array(e, stateVector)
  })

/** Sync step 2 carrying an update (usually Y.encodeStateAsUpdate(doc, theirStateVector)). */
export const writeSyncStep2 = (update: Uint8Array): Uint8Array =>
  frameOf((e) => {
    encoding.writeVarUint(e, MessageType.Sync)
    encoding.writeVarUint(e, SyncType.Step2)
    encoding.writeVarUint8Array(e, update)
  })

export const writeSyncUpdate = (update: Uint8Array): Uint8Array =>
  frameOf((e) => {
    encoding.writeVarUint(e, MessageType.Sync)
    syncProtocol.writeUpdate(e, update)
  })

export const writeAwareness = (awarenessUpdate: Uint8Array): Uint8Array =>
  frameOf((e) => {
    encoding.writeVarUint(e, MessageType.Awareness)
    encoding.writeVarUint8Array(e, awarenessUpdate)
  })

export const writeQueryAwareness = (): Uint8Array =>
  frameOf((e) => encoding.writeVarUint(e, MessageType.QueryAwareness))

/** Tandem extension (see message-type.ts): the first `count` update messages are stored. */
export const writeSaved = (count: number): Uint8Array =>
  frameOf((e) => {
    encoding.writeVarUint(e, MessageType.Saved)
    encoding.writeVarUint(e, count)
  })

export const writeAuthDenied = (reason: string): Uint8Array =>
  frameOf((e) => {
    encoding.writeVarUint(e, MessageType.Auth)
    encoding.writeVarUint(e, AuthType.PermissionDenied)
    encoding.writeVarString(e, reason)
  })

// ---------------------------------------------------------------------------------------------
// Readers: bounds-checked. lib0's decoders trust lengths, and a Node Buffer is often a view
// into a larger pooled ArrayBuffer, so an unchecked length could read a neighbour's bytes.

const MAX_VARUINT_BYTES = 8 // 7 bits each: 56 bits ≥ Number.MAX_SAFE_INTEGER's 53

/** A lib0 varUint, bounds-checked (53 bits at most). @internal shared with mux.ts */
export function readVarUint(d: decoding.Decoder, what: string): number {
  const start = d.pos
  let n = 0
  let mult = 1
  for (;;) {
    if (d.pos >= d.arr.length) throw new ProtocolError(`truncated ${what}`, CloseCode.InvalidPayload, 'truncated')
    const b = d.arr[d.pos++]!
    n += (b & 0x7f) * mult
    if (b < 0x80) break
    mult *= 128
    if (d.pos - start >= MAX_VARUINT_BYTES || n > Number.MAX_SAFE_INTEGER) {
      throw new ProtocolError(`${what} out of range`, CloseCode.InvalidPayload, 'varint-range')
    }
  }
  if (n > Number.MAX_SAFE_INTEGER) throw new ProtocolError(`${what} out of range`, CloseCode.InvalidPayload, 'varint-range')
  return n
}

function readBytes(d: decoding.Decoder, what: string): Uint8Array {
  const len = readVarUint(d, `${what} length`)
  if (len > d.arr.length - d.pos) throw new ProtocolError(`truncated ${what}`, CloseCode.InvalidPayload, 'truncated')
  const view = d.arr.subarray(d.pos, d.pos + len)
  d.pos += len
  return view
}

/** A varString, bounds-checked and strictly UTF-8. @internal shared with mux.ts */
export function readString(d: decoding.Decoder, what: string): string {
  const bytes = readBytes(d, what)
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new ProtocolError(`${what} is not valid UTF-8`, CloseCode.InvalidPayload, 'utf8')
  }
}

function end(d: decoding.Decoder, frame: Frame): Frame {
  if (d.pos !== d.arr.length) throw new ProtocolError('trailing bytes after message', CloseCode.InvalidPayload, 'trailing')
  return frame
}

/** Decodes one frame. Throws ProtocolError (never anything else) for any malformed input. */
export function readFrame(bytes: Uint8Array): Frame {
  const d = decoding.createDecoder(bytes)
  const type = readVarUint(d, 'message type')
  switch (type) {
    case MessageType.Sync: {
      const syncType = readVarUint(d, 'sync type')
      const payload = readBytes(d, 'sync payload')
      switch (syncType) {
        case SyncType.Step1:
          return end(d, { type: 'sync-step1', stateVector: payload })
        case SyncType.Step2:
          return end(d, { type: 'sync-step2', update: payload })
        case SyncType.Update:
          return end(d, { type: 'sync-update', update: payload })
        default:
          throw new ProtocolError(`unknown sync type ${syncType}`, CloseCode.InvalidPayload, 'unknown-sync-type')
      }
    }
    case MessageType.Awareness:
      return end(d, { type: 'awareness', update: readBytes(d, 'awareness update') })
    case MessageType.Auth: {
      const authType = readVarUint(d, 'auth type')
      if (authType !== AuthType.PermissionDenied) {
        throw new ProtocolError(`unknown auth type ${authType}`, CloseCode.InvalidPayload, 'unknown-auth-type')
      }
      return end(d, { type: 'auth-denied', reason: readString(d, 'auth reason') })
    }
    case MessageType.QueryAwareness:
      return end(d, { type: 'query-awareness' })
    case MessageType.Saved:
      return end(d, { type: 'saved', count: readVarUint(d, 'saved count') })
    default:
      throw new ProtocolError(`unknown message type ${type}`, CloseCode.InvalidPayload, 'unknown-type')
  }
}

// ---------------------------------------------------------------------------------------------
// Payload validation.

/**
 * Parses a v1 Yjs update completely. Y.applyUpdate swallows nothing but can half-apply a
 * truncated update, and y-protocols' readSyncStep2 logs and continues; so every update is
 * decoded in full before anything applies it. Returns true when the update carries content
 * (structs or deletions), false for the empty update a synced peer sends as its step 2.
 */
export function validateUpdate(update: Uint8Array): boolean {
  let decoded: ReturnType<typeof Y.decodeUpdate>
  try {
    decoded = Y.decodeUpdate(update)
  } catch (err) {
    throw new ProtocolError(`invalid Yjs update: ${(err as Error).message}`, CloseCode.InvalidPayload, 'invalid-update')
  }
  return decoded.structs.length > 0 || decoded.ds.clients.size > 0
}

/** Cheap check for the 2-byte empty update ([0 structs][0 delete-set clients]) without decoding. */
export const isEmptyUpdate = (update: Uint8Array): boolean =>
  update.length === 2 && update[0] === 0 && update[1] === 0

export interface AwarenessEntry {
  clientID: number
  clock: number
  /** parsed JSON state; null means "this client left" */
  state: unknown
}

/** Parses and validates an awareness update (JSON guarded). Throws ProtocolError. */
export function readAwarenessUpdate(update: Uint8Array): AwarenessEntry[] {
  const d = decoding.createDecoder(update)
  const n = readVarUint(d, 'awareness count')
  // Each entry is at least 3 bytes; a count larger than that is a lie that would make us loop.
  if (n > update.length) throw new ProtocolError('awareness count exceeds payload', CloseCode.InvalidPayload, 'awareness')
  const entries: AwarenessEntry[] = []
  for (let i = 0; i < n; i++) {
    const clientID = readVarUint(d, 'awareness clientID')
    const clock = readVarUint(d, 'awareness clock')
    const json = readString(d, 'awareness state')
    let state: unknown
    try {
      state = JSON.parse(json)
    } catch {
      throw new ProtocolError('awareness state is not JSON', CloseCode.InvalidPayload, 'awareness-json')
    }
    entries.push({ clientID, clock, state })
  }
  if (d.pos !== update.length) throw new ProtocolError('trailing bytes in awareness update', CloseCode.InvalidPayload, 'trailing')
  return entries
}

/** Encodes awareness entries (the inverse of readAwarenessUpdate). */
export function writeAwarenessUpdate(entries: readonly AwarenessEntry[]): Uint8Array {
  return frameOf((e) => {
    encoding.writeVarUint(e, entries.length)
    for (const { clientID, clock, state } of entries) {
      encoding.writeVarUint(e, clientID)
      encoding.writeVarUint(e, clock)
      encoding.writeVarString(e, JSON.stringify(state))
    }
  })
}

export interface AwarenessHeader {
  clientID: number
  clock: number
  /** the state is JSON `null`: the client left */
  isNull: boolean
  /** byte range of this whole entry inside the update, to re-encode a subset without JSON work */
  start: number
  end: number
  /** where the state's JSON text (UTF-8) starts; it ends at `end` */
  stateStart: number
}

const NULL_JSON = [0x6e, 0x75, 0x6c, 0x6c] // "null"

/**
 * Reads an awareness update's entry headers without parsing the JSON states (applying the
 * update parses them; parsing twice would double the cost of the hottest message type).
 * Validates the framing completely. Throws ProtocolError.
 */
export function readAwarenessHeaders(update: Uint8Array): AwarenessHeader[] {
  const d = decoding.createDecoder(update)
  const n = readVarUint(d, 'awareness count')
  if (n > update.length) throw new ProtocolError('awareness count exceeds payload', CloseCode.InvalidPayload, 'awareness')
  const headers: AwarenessHeader[] = []
  for (let i = 0; i < n; i++) {
    const start = d.pos
    const clientID = readVarUint(d, 'awareness clientID')
    const clock = readVarUint(d, 'awareness clock')
    const state = readBytes(d, 'awareness state')
    const isNull =
      state.length === 4 && state[0] === NULL_JSON[0] && state[1] === NULL_JSON[1] && state[2] === NULL_JSON[2] && state[3] === NULL_JSON[3]
    headers.push({ clientID, clock, isNull, start, end: d.pos, stateStart: d.pos - state.length })
  }
  if (d.pos !== update.length) throw new ProtocolError('trailing bytes in awareness update', CloseCode.InvalidPayload, 'trailing')
  return headers
}

/** Re-encodes a subset of an awareness update's entries by copying their bytes. */
export function sliceAwarenessUpdate(update: Uint8Array, keep: readonly AwarenessHeader[]): Uint8Array {
  return frameOf((e) => {
    encoding.writeVarUint(e, keep.length)
    for (const h of keep) encoding.writeUint8Array(e, update.subarray(h.start, h.end))
  })
}
