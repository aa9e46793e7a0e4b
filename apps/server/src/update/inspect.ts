import * as Y from 'yjs'
import { CloseCode, ProtocolError, scanUpdate } from '@tandem/sync'

/**
 * Stage 1 of the update path: an update arrives (room/room.ts hands every sync step 2 / update
 * message from a writer here). It is parsed in full and counted before anything applies it, and
 * the room's document budget is checked against the count; then it goes to the commit queue
 * (stage 2, commit.ts).
 */

/** What the arrival check learns about an update: enough to budget it before it is applied. */
export interface UpdateInfo {
  /** structs or deletes present (false for the empty update a synced peer sends) */
  hasContent: boolean
  /** structs it brings: items, GC and skip runs (duplicates of what the room has included) */
  structs: number
  /** items holding a shared type: only these can deepen the nesting */
  types: number
}

/**
 * Parses an update completely (no trailing bytes, every struct readable) and counts what the
 * budgets need. Throws ProtocolError 1007 on anything Yjs could not decode.
 */
export function inspectUpdate(update: Uint8Array): UpdateInfo {
  // Walks the update without decoding it (no struct objects): counting a flood of tiny structs
  // costs ~110 bytes, not ~150 bytes per struct, so budgets are checked before any allocation.
  const scan = scanUpdate(update)
  if (scan.unsafeNumbers) {
    throw new ProtocolError('invalid Yjs update: a count, clock or length past 2^53 - 1', CloseCode.InvalidPayload, 'invalid-update')
  }
  return { hasContent: scan.hasContent, structs: scan.structs + scan.subdocs * (SUBDOC_WEIGHT - 1), types: scan.types }
}

/**
 * How many structs a subdocument (an item holding a Y.Doc) counts as in every budget: the server
 * creates a Y.Doc for each, ~2.4 KB of heap against ~300-460 bytes for an ordinary struct
 * (measured with Yjs 13.6), and its wire form is as small as a map entry's.
 */
export const SUBDOC_WEIGHT = 8

/** Structs a document holds (items, deleted items, GC runs; subdocuments weighted): what MAX_DOC_STRUCTS bounds. */
export function countStructs(doc: Y.Doc): number {
  let n = doc.subdocs.size * (SUBDOC_WEIGHT - 1)
  for (const list of doc.store.clients.values()) n += list.length
  return n
}

/**
 * A room's document budget (MAX_DOC_STRUCTS, MAX_DOC_BYTES): upper-bound estimates, raised when
 * an update is accepted for the commit queue and made exact (structs counted, snapshot size) when
 * an estimate reaches its limit. Deletes always pass, so a full document can still be trimmed.
 */
export class DocBudget {
  private structs = 0
  private bytes = 0

  constructor(private readonly limits: { maxDocStructs: number; maxDocBytes: number }) {}

  /** From a load: the document's structs and the bytes the store holds for it. */
  reset(structs: number, bytes: number): void {
    this.structs = structs
    this.bytes = bytes
  }

  /**
   * Reserves room for an update, or throws 4413 (the sender stops retrying). `exactStructs`
   * counts the live document when the estimate says no; `onBytesFull` asks for a snapshot, the
   * only way the byte estimate learns about deletions.
   */
  reserve(info: UpdateInfo, bytes: number, exactStructs: () => number | undefined, onBytesFull: () => void): void {
    const { maxDocStructs, maxDocBytes } = this.limits
    if (info.structs === 0) return
    if (this.structs + info.structs > maxDocStructs) {
      const exact = exactStructs()
      if (exact !== undefined) this.structs = exact
      if (this.structs + info.structs > maxDocStructs) {
        throw new ProtocolError(`the document would hold more than ${maxDocStructs} structs`, CloseCode.DocTooLarge, 'doc-too-large')
      }
    }
    if (this.bytes + bytes > maxDocBytes) {
      onBytesFull()
      throw new ProtocolError(`the document would grow past ${maxDocBytes} bytes`, CloseCode.DocTooLarge, 'doc-too-large')
    }
    this.structs += info.structs
    this.bytes += bytes
  }

  /** An update reserved for was refused: give its structs back. */
  unreserve(info: UpdateInfo): void {
    this.structs -= info.structs
  }

  /** A snapshot of `bytes` now stands for the log up to it; `logBytes` were appended since. */
  snapshotTaken(bytes: number, logBytes: number): void {
    this.bytes = bytes + logBytes
  }
}
