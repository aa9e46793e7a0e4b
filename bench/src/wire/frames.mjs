// Builders for the frames the light client sends. Every update and awareness payload is
// built byte-for-byte the way Yjs / y-protocols would encode it (bench/test checks this), so the
// load generator never runs Yjs while timing.
import * as encoding from 'lib0/encoding'
import { Msg, SyncType, HpAuth, HP_PROVIDER_VERSION, TEXT_NAME } from './protocol.mjs'

/**
 * Bytes that start every frame: the document name for Hocuspocus, nothing otherwise.
 * @param {import('./protocol.mjs').Proto} proto
 * @param {string} room
 */
export function framePrefix (proto, room) {
  if (proto !== 'hp') return new Uint8Array(0)
  const e = encoding.createEncoder()
  encoding.writeVarString(e, room)
  return encoding.toUint8Array(e)
}

/** @param {encoding.Encoder} e @param {Uint8Array} prefix */
const writePrefix = (e, prefix) => { if (prefix.length > 0) encoding.writeUint8Array(e, prefix) }

/** @param {Uint8Array} prefix @param {number} syncType @param {Uint8Array} payload */
export function syncFrame (prefix, syncType, payload) {
  const e = encoding.createEncoder()
  writeSyncFrame(e, prefix, syncType, payload)
  return encoding.toUint8Array(e)
}

/** @param {encoding.Encoder} e @param {Uint8Array} prefix @param {number} syncType @param {Uint8Array} payload */
function writeSyncFrame (e, prefix, syncType, payload) {
  writePrefix(e, prefix)
  encoding.writeVarUint(e, Msg.Sync)
  encoding.writeVarUint(e, syncType)
  encoding.writeVarUint8Array(e, payload)
}

/** @param {encoding.Encoder} e @param {Uint8Array} prefix @param {Uint8Array} awarenessUpdate */
function writeAwarenessFrame (e, prefix, awarenessUpdate) {
  writePrefix(e, prefix)
  encoding.writeVarUint(e, Msg.Awareness)
  encoding.writeVarUint8Array(e, awarenessUpdate)
}

/** Sync step 1 of a client that holds nothing: empty state vector. */
export const emptyStep1 = (/** @type {Uint8Array} */ prefix) => syncFrame(prefix, SyncType.Step1, EMPTY_STATE_VECTOR)
/** Sync step 2 of a client that holds nothing: an update with no structs and no deletes. */
export const emptyStep2 = (/** @type {Uint8Array} */ prefix) => syncFrame(prefix, SyncType.Step2, EMPTY_UPDATE)
const EMPTY_STATE_VECTOR = new Uint8Array([0])
const EMPTY_UPDATE = new Uint8Array([0, 0])

/** Hocuspocus auth message exactly as HocuspocusProvider.sendToken writes it (token ''). */
export function hpAuthFrame (/** @type {string} */ room) {
  const e = encoding.createEncoder()
  encoding.writeVarString(e, room)
  encoding.writeVarUint(e, Msg.Auth)
  encoding.writeVarUint(e, HpAuth.Token)
  encoding.writeVarString(e, '')
  encoding.writeVarString(e, HP_PROVIDER_VERSION)
  return encoding.toUint8Array(e)
}

/**
 * The v1 update Yjs emits when client `client` appends its `clock`-th single character to its
 * own run in Y.Text TEXT_NAME: one struct, origin = its previous character (none for clock 0),
 * empty delete set. Valid against any document state that holds the client's earlier clocks.
 * @param {number} client @param {number} clock @param {string} ch one UTF-16 unit
 */
export function appendCharUpdate (client, clock, ch) {
  const e = encoding.createEncoder()
  writeAppendCharUpdate(e, client, clock, ch)
  return encoding.toUint8Array(e)
}

/** @param {encoding.Encoder} e @param {number} client @param {number} clock @param {string} ch */
function writeAppendCharUpdate (e, client, clock, ch) {
  encoding.writeVarUint(e, 1) // one client
  encoding.writeVarUint(e, 1) // one struct
  encoding.writeVarUint(e, client)
  encoding.writeVarUint(e, clock)
  if (clock === 0) {
    encoding.writeUint8(e, 4) // Item, ContentString, no origins -> parent info follows
    encoding.writeVarUint(e, 1) // parent is a root type named by key
    encoding.writeVarString(e, TEXT_NAME)
  } else {
    encoding.writeUint8(e, 128 | 4) // Item with origin, ContentString
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, clock - 1)
  }
  encoding.writeVarString(e, ch)
  encoding.writeVarUint(e, 0) // empty delete set
}

/**
 * y-protocols encodeAwarenessUpdate for one client.
 * @param {number} client @param {number} clock @param {string} stateJson
 */
export function awarenessUpdate (client, clock, stateJson) {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, client)
  encoding.writeVarUint(e, clock)
  encoding.writeVarString(e, stateJson)
  return encoding.toUint8Array(e)
}

/**
 * Many frames packed into one buffer (cheap to keep hundreds of thousands ready before timing).
 */
class FramePool {
  /** @param {Uint8Array} bytes @param {Uint32Array} offsets length = count + 1 */
  constructor (bytes, offsets) {
    this.bytes = bytes
    this.offsets = offsets
    this.count = offsets.length - 1
  }

  /** @param {number} i */
  get (i) { return this.bytes.subarray(this.offsets[i], this.offsets[i + 1]) }
}

/**
 * Frames for one writer: update i appends one character at clock i.
 * @param {Uint8Array} prefix @param {number} client @param {number} count
 */
export function appendUpdatePool (prefix, client, count) {
  const e = encoding.createEncoder()
  const offsets = new Uint32Array(count + 1)
  for (let i = 0; i < count; i++) {
    offsets[i] = encoding.length(e)
    writeSyncFrame(e, prefix, SyncType.Update, appendCharUpdate(client, i, String.fromCharCode(97 + (i % 26))))
  }
  offsets[count] = encoding.length(e)
  return new FramePool(encoding.toUint8Array(e), offsets)
}

/**
 * Frames for one presence client: awareness update i carries clock i + 1 (a client's first
 * awareness clock must exceed 0 for the server to accept it) and a y-prosemirror-like caret.
 * @param {Uint8Array} prefix @param {number} client @param {number} count @param {string} name
 */
export function awarenessPool (prefix, client, count, name) {
  const e = encoding.createEncoder()
  const offsets = new Uint32Array(count + 1)
  for (let i = 0; i < count; i++) {
    offsets[i] = encoding.length(e)
    const pos = 10 + ((i * 7) % 500)
    const state = JSON.stringify({
      user: { name, color: '#30bced' },
      cursor: {
        anchor: { type: { client: 1, clock: 0 }, tname: null, item: { client, clock: pos }, assoc: 0 },
        head: { type: { client: 1, clock: 0 }, tname: null, item: { client, clock: pos + (i % 3) }, assoc: 0 },
      },
    })
    writeAwarenessFrame(e, prefix, awarenessUpdate(client, i + 1, state))
  }
  offsets[count] = encoding.length(e)
  return new FramePool(encoding.toUint8Array(e), offsets)
}
