import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { checkNesting } from './nesting.js'
import type { TxOrigin } from '../room/tx-origins.js'

/**
 * The gate every document update passes before it is stored: it is integrated into the room's
 * Y.Doc here, and only what integrated is stored and relayed. "Nothing is stored that cannot be
 * integrated": an update that makes Yjs throw, or nests types past the bound, never reaches the
 * store, so no stored update can brick a room.
 *
 * Parts that cannot integrate YET (items whose origin, parent or left neighbour is missing;
 * deletes of ranges the document has not seen) are taken out of Yjs' own pending slots after
 * every apply. Yjs would otherwise keep them in the document and re-read all of them on every
 * later update to the room (a 1 MiB pending delete set costs ~65 ms per update, forever, and is
 * persisted with the state). The room parks them in a bounded buffer instead (pending.ts) and
 * retries them only when what they wait for has arrived.
 */

/** Parts of an update Yjs could not integrate yet, v2-encoded as Yjs keeps them. */
export interface PendingParts {
  /** structs waiting for `missing` (client → the clock they need) */
  structs: { missing: Map<number, number>; update: Uint8Array } | null
  /** a delete set naming ranges the document does not have yet */
  ds: Uint8Array | null
}

export type GateResult =
  /** everything integrated: the update as received is what to store and relay */
  | { pending: undefined }
  /** some parts wait: `integrated` is what did integrate (undefined when nothing did) */
  | { pending: PendingParts; integrated: Uint8Array | undefined }

/** Yjs threw while integrating: the in-memory document may hold part of the update. */
export class IntegrationFailed extends Error {
  override readonly name = 'IntegrationFailed'
}

export interface GateOptions {
  maxNestingDepth: number
  /** the update contains shared types (known from the arrival check): only then can nesting grow */
  hasTypes: boolean
  /** v2-encoded (a parked pending part) */
  v2?: boolean
}

/** The last transaction of each document, seen by one listener per gated document (no encoding). */
const lastTransaction = new WeakMap<Y.Doc, Y.Transaction>()
const remember = (tr: Y.Transaction, doc: Y.Doc) => lastTransaction.set(doc, tr)

/** Call once per Y.Doc that goes through the gate. */
export function watchTransactions(doc: Y.Doc): void {
  doc.on('afterTransaction', remember)
}

/**
 * Integrates `update` into `doc` or throws: a ProtocolError (1007) when a check refuses it before
 * anything was applied; IntegrationFailed when Yjs threw part-way (the caller must not trust the
 * in-memory document any more and rebuilds it from the store).
 */
export function integrate(doc: Y.Doc, update: Uint8Array, origin: TxOrigin, opts: GateOptions): GateResult {
  if (opts.hasTypes) {
    const { structs } = opts.v2 ? Y.decodeUpdateV2(update) : Y.decodeUpdate(update)
    checkNesting(doc, structs, opts.maxNestingDepth)
  }
  try {
    if (opts.v2) Y.applyUpdateV2(doc, update, origin)
    else Y.applyUpdate(doc, update, origin)
  } catch (err) {
    takePending(doc)
    throw new IntegrationFailed(`Yjs could not integrate the update: ${(err as Error).message}`, { cause: err })
  }
  const pending = takePending(doc)
  if (!pending) return { pending: undefined }
  // Inside a caller's transaction (a commit's batch) that transaction is the one to read: its
  // state before covers this update and the batch's earlier ones, whose structs are then also in
  // `integrated` (already in the row: merging them again is harmless).
  return { pending, integrated: integratedBy(doc, doc._transaction ?? lastTransaction.get(doc)) }
}

/** Removes what Yjs parked in the document's own pending slots and returns it. */
export function takePending(doc: Y.Doc): PendingParts | undefined {
  const store = doc.store
  if (store.pendingStructs === null && store.pendingDs === null) return undefined
  const parts: PendingParts = { structs: store.pendingStructs, ds: store.pendingDs }
  store.pendingStructs = null
  store.pendingDs = null
  return parts
}

/**
 * What the last transaction integrated, as one v1 update: every struct at or past the state
 * before it, plus the document's delete set when the transaction deleted anything (a superset of
 * what it deleted; Yjs ignores deletes it already has). Only on the rare path where part of an
 * update stayed pending: the update as received cannot be stored then, or its pending part would
 * be persisted and come back on every load.
 */
function integratedBy(doc: Y.Doc, tr: Y.Transaction | undefined): Uint8Array | undefined {
  if (!tr) return undefined
  const before = tr.beforeState
  let grew = false
  const sv = encoding.createEncoder()
  encoding.writeVarUint(sv, doc.store.clients.size)
  for (const client of doc.store.clients.keys()) {
    const was = before.get(client) ?? 0
    if (Y.getState(doc.store, client) > was) grew = true
    encoding.writeVarUint(sv, client)
    encoding.writeVarUint(sv, was)
  }
  if (!grew && tr.deleteSet.clients.size === 0) return undefined
  return Y.encodeStateAsUpdate(doc, encoding.toUint8Array(sv))
}
