// What a light receiver reads: the frame header and, for document updates, only the struct ids
// (client, clock, length) of a v1 update. Content is skipped byte-wise, never materialised.
import * as decoding from 'lib0/decoding'
import { Msg } from './protocol.mjs'

/**
 * Reads the header of a frame; leaves `d` at the payload (after the sync type for sync frames).
 * Returns the message type; `head.sub` gets the sync/auth sub-type (-1 otherwise).
 * @param {decoding.Decoder} d @param {boolean} named Hocuspocus frames start with the doc name
 * @param {{ sub: number }} head
 */
export function readHeader (d, named, head) {
  if (named) skipVarBytes(d)
  const type = decoding.readVarUint(d)
  head.sub = (type === Msg.Sync || type === Msg.SyncReply || type === Msg.Auth) ? decoding.readVarUint(d) : -1
  return type
}

/** @param {decoding.Decoder} d skips a varString / varUint8Array without decoding it */
function skipVarBytes (d) {
  const n = decoding.readVarUint(d)
  d.pos += n
  if (d.pos > d.arr.length) throw new RangeError('truncated frame')
}

/**
 * Calls sink.onRange(client, clock, length, kind) for every struct of a v1 update
 * (kind: 0 GC, 10 Skip, otherwise the Item content ref 1..9), then returns the update's end
 * offset of the struct section (the delete set is not read).
 * @param {decoding.Decoder} d positioned at the update's first byte
 * @param {{ onRange(client: number, clock: number, len: number, kind: number): void }} sink
 */
export function readStructIds (d, sink) {
  const groups = decoding.readVarUint(d)
  for (let g = 0; g < groups; g++) {
    const structs = decoding.readVarUint(d)
    const client = decoding.readVarUint(d)
    let clock = decoding.readVarUint(d)
    for (let s = 0; s < structs; s++) {
      const info = decoding.readUint8(d)
      const kind = info & 31
      let len
      if (kind === 0 || kind === 10) {
        len = decoding.readVarUint(d)
      } else {
        if ((info & 128) !== 0) { decoding.readVarUint(d); decoding.readVarUint(d) } // origin
        if ((info & 64) !== 0) { decoding.readVarUint(d); decoding.readVarUint(d) } // right origin
        if ((info & 192) === 0) { // no origins: the parent is written out
          if (decoding.readVarUint(d) === 1) skipVarBytes(d) // root type key
          else { decoding.readVarUint(d); decoding.readVarUint(d) } // parent item id
          if ((info & 32) !== 0) skipVarBytes(d) // parentSub (map key)
        }
        len = readContentLength(d, kind)
      }
      sink.onRange(client, clock, len, kind)
      clock += len
    }
  }
  return d.pos
}

/** @param {decoding.Decoder} d @param {number} kind */
function readContentLength (d, kind) {
  switch (kind) {
    case 1: return decoding.readVarUint(d) // ContentDeleted
    case 2: { // ContentJSON: len strings
      const len = decoding.readVarUint(d)
      for (let i = 0; i < len; i++) skipVarBytes(d)
      return len
    }
    case 3: skipVarBytes(d); return 1 // ContentBinary
    case 4: return readUtf16Length(d) // ContentString: length in UTF-16 units, like JS strings
    case 5: skipVarBytes(d); return 1 // ContentEmbed (JSON string)
    case 6: skipVarBytes(d); skipVarBytes(d); return 1 // ContentFormat: key, JSON
    case 7: { // ContentType: type ref, XmlElement/XmlHook carry a name
      const ref = decoding.readVarUint(d)
      if (ref === 3 || ref === 5) skipVarBytes(d)
      return 1
    }
    case 8: { // ContentAny
      const len = decoding.readVarUint(d)
      for (let i = 0; i < len; i++) decoding.readAny(d)
      return len
    }
    case 9: skipVarBytes(d); decoding.readAny(d); return 1 // ContentDoc: guid, opts
    default: throw new Error(`unknown struct content ${kind}`)
  }
}

/**
 * Length in UTF-16 code units of a varString, counted from its UTF-8 bytes.
 * @param {decoding.Decoder} d
 */
function readUtf16Length (d) {
  const n = decoding.readVarUint(d)
  const end = d.pos + n
  const arr = d.arr
  if (end > arr.length) throw new RangeError('truncated frame')
  let units = 0
  for (let i = d.pos; i < end; i++) {
    const b = arr[i]
    if ((b & 0xc0) !== 0x80) units += b >= 0xf0 ? 2 : 1 // lead byte; 4-byte sequences are surrogate pairs
  }
  d.pos = end
  return units
}

/**
 * Calls sink.onPresence(client, clock) for every entry of a y-protocols awareness update.
 * @param {decoding.Decoder} d positioned at the awareness update (inside the varUint8Array)
 * @param {{ onPresence(client: number, clock: number): void }} sink
 */
export function readAwarenessIds (d, sink) {
  const count = decoding.readVarUint(d)
  for (let i = 0; i < count; i++) {
    const client = decoding.readVarUint(d)
    const clock = decoding.readVarUint(d)
    skipVarBytes(d) // state JSON
    sink.onPresence(client, clock)
  }
}
