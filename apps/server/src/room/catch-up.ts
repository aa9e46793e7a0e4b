import * as Y from 'yjs'
import type { LoadedDoc } from '../store/types.js'
import type { TxOrigin } from './tx-origins.js'
import { IntegrationFailed, inspectUpdate, integrate, takePending } from '../update/integrate.js'

/**
 * Applies stored rows (a catch-up read) to `doc` through the gate and returns the part that was
 * new to it, as one update ('failed' when Yjs threw part-way: the caller rebuilds the document),
 * or undefined when the doc already had everything; plus the highest seq seen. Only the new part
 * is worth relaying: Yjs reports exactly that through the 'update' event.
 */
export function applyStoredRows(
  doc: Y.Doc,
  loaded: LoadedDoc,
  since: number,
  origin: TxOrigin,
  maxNestingDepth: number,
): { delta: Uint8Array | undefined | 'failed'; seen: number } {
  const rows = loaded.snapshot ? [loaded.snapshot, ...loaded.updates] : loaded.updates
  let seen = since
  const delta: Uint8Array[] = []
  const onUpdate = (u: Uint8Array) => delta.push(u)
  doc.on('update', onUpdate)
  try {
    for (const row of rows) {
      seen = Math.max(seen, row.seq)
      if (row.seq <= since && row !== loaded.snapshot) continue
      try {
        const info = inspectUpdate(row.data)
        if (!info.hasContent) continue
        // Rows from the store passed the gate of the server that stored them; a part that still
        // pends here waits for a later row or catch-up, and is never kept inside the document.
        integrate(doc, row.data, origin, { maxNestingDepth, hasTypes: info.types > 0 })
      } catch (err) {
        takePending(doc)
        if (err instanceof IntegrationFailed) return { delta: 'failed', seen }
        // An unreadable or refused row is quarantined by the next load; it cannot be applied here either.
      }
    }
  } finally {
    doc.off('update', onUpdate)
  }
  if (delta.length === 0) return { delta: undefined, seen }
  return { delta: delta.length === 1 ? delta[0]! : Y.mergeUpdates(delta), seen }
}
