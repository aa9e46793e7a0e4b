import { createHash } from 'node:crypto'
import * as Y from 'yjs'
import { LOAD_ORIGIN } from '../room/tx-origins.js'

/**
 * A room's stored state as a throwaway Y.Doc: reads and writes of the content API work on one,
 * never on the room's own document, which only the update path changes.
 */
export function docFrom(state: Uint8Array): Y.Doc {
  const doc = new Y.Doc({ gc: true })
  Y.applyUpdate(doc, state, LOAD_ORIGIN)
  return doc
}

/**
 * The entity tag of a document state: a hash of its state vector and delete set, i.e. of which
 * changes it holds. Equal for equal states on every server (the bytes a state is encoded to are
 * not: a merged log and a live document encode differently), and different after any change,
 * insertions and deletions alike.
 */
export function etagOf(doc: Y.Doc): string {
  const sv = Y.encodeStateVector(doc)
  // An update from a state vector to itself carries no structs: only the whole delete set.
  const ds = Y.encodeStateAsUpdate(doc, sv)
  const hash = createHash('sha256').update(sv).update(ds).digest('base64url').slice(0, 27)
  return `"${hash}"`
}
