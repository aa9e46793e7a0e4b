import * as Y from 'yjs'
import { HISTORY_MAP, RESTORED_KEY } from '@tandem/schema'

/**
 * A restore says so inside the document: the update it submits also sets
 * `doc.getMap('tandem-history').get('restored')` (the restored version's id, the version taken
 * before it, the time), in the same update, so every editor sees both at once.
 *
 * Why: an editor's undo manager undoes its own earlier changes item by item, and a restore
 * reuses some of those items where the version's text matches (e.g. a common suffix), deletes
 * others and inserts copies of what they held. Undoing an edit from before the restore would then
 * delete text the restore kept or put back a paragraph beside the copy the restore re-inserted:
 * the document would no longer be the restored version, for everyone. Editors clear their undo
 * stack when they see this key change remotely (apps/editor/src/history/restore-undo.ts; the
 * names are shared from @tandem/schema). One key, overwritten: the document grows by nothing that stays.
 */

export interface RestoreMark {
  version: number
  before: number
  at: number
}

/** `update` plus the marker, merged into one update (stored, relayed and applied atomically). */
export function withRestoreMarker(update: Uint8Array, mark: RestoreMark): Uint8Array {
  // A fresh document (fresh client id, clock 0): the entry needs nothing from the live state. If
  // it loses the key to an earlier marker (Yjs orders concurrent map entries by client id), it is
  // deleted on arrival, but the map still changed in that transaction, which is all editors watch.
  const doc = new Y.Doc()
  try {
    doc.getMap(HISTORY_MAP).set(RESTORED_KEY, { ...mark })
    return Y.mergeUpdates([update, Y.encodeStateAsUpdate(doc)])
  } finally {
    doc.destroy()
  }
}
