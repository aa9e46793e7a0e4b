// On-disk form of a generated editing trace (cached under results/tmp/).
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

/**
 * @typedef {object} Trace
 * @property {Uint8Array[]} chunks the history as incremental updates, in order
 * @property {Uint8Array} state Y.encodeStateAsUpdate of the final document
 * @property {string} text the final text
 * @property {Record<string, number | string>} info
 */

/** @param {Trace} t */
export function writeTrace (t) {
  const e = encoding.createEncoder()
  encoding.writeVarString(e, JSON.stringify(t.info))
  encoding.writeVarString(e, t.text)
  encoding.writeVarUint8Array(e, t.state)
  encoding.writeVarUint(e, t.chunks.length)
  for (const c of t.chunks) encoding.writeVarUint8Array(e, c)
  return encoding.toUint8Array(e)
}

/** @param {Uint8Array} bytes @returns {Trace} */
export function readTrace (bytes) {
  const d = decoding.createDecoder(bytes)
  const info = JSON.parse(decoding.readVarString(d))
  const text = decoding.readVarString(d)
  const state = decoding.readVarUint8Array(d)
  const n = decoding.readVarUint(d)
  const chunks = Array.from({ length: n }, () => decoding.readVarUint8Array(d))
  return { info, text, state, chunks }
}
