import * as Y from 'yjs'
import { validateUpdate } from '@tandem/sync'
import type { LoadedDoc } from './store/types.js'
import type { TxOrigin } from './origins.js'

/**
 * Applies stored rows (a catch-up read) to `doc` and returns the part that was new to it, as one
 * update, or undefined when the doc already had everything; plus the highest seq seen.
 * Only the new part is worth relaying: Yjs reports exactly that through the 'update' event.
 */
export function applyStoredRows(doc: Y.Doc, loaded: LoadedDoc, since: number, origin: TxOrigin): { delta: Uint8Array | undefined; seen: number } {
  const rows = loaded.snapshot ? [loaded.snapshot, ...loaded.updates] : loaded.updates
  let seen = since
  const news: Uint8Array[] = []
  for (const row of rows) {
    seen = Math.max(seen, row.seq)
    try {
      if (validateUpdate(row.data)) news.push(row.data)
    } catch {
      // Unreadable rows are quarantined by the next load; they cannot be applied here either.
    }
  }
  if (news.length === 0) return { delta: undefined, seen }
  const delta: Uint8Array[] = []
  const onUpdate = (u: Uint8Array) => delta.push(u)
  doc.on('update', onUpdate)
  try {
    Y.applyUpdate(doc, news.length === 1 ? news[0]! : Y.mergeUpdates(news), origin)
  } finally {
    doc.off('update', onUpdate)
  }
  return { delta: delta.length === 0 ? undefined : delta.length === 1 ? delta[0]! : Y.mergeUpdates(delta), seen }
}
