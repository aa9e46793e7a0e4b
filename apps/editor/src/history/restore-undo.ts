import type { Editor } from '@tiptap/core'
import { yUndoPluginKey } from '@tiptap/y-tiptap'
import type * as Y from 'yjs'
import { HISTORY_MAP } from '@tandem/schema'

/**
 * After a restore, this editor's undo stack is dropped (and its redo stack).
 *
 * The restore is a remote change here: the undo manager (y-tiptap, trackedOrigins = the ySync
 * plugin only) never undoes it. But it undoes this editor's OWN earlier changes item by item, and
 * the restore reuses some of those items where the version's text matches, deletes others and
 * inserts copies of what they held: an undo would delete text the restore kept ("Old first." →
 * "Old first") or put a paragraph back beside the copy the restore re-inserted, for everyone
 * (e2e "after a restore, undo in another tab …"). Everything before a restore is undone by
 * restoring the version taken before it instead.
 *
 * The server marks a restore in the same update (apps/server/src/history/restore-marker.ts; the
 * names are shared from @tandem/schema): the map `tandem-history` changes in a remote transaction.
 */
export function forgetUndoOnRestore(editor: Editor, doc: Y.Doc): () => void {
  const map = doc.getMap(HISTORY_MAP)
  const onChange = (event: Y.YMapEvent<unknown>) => {
    if (event.transaction.local) return
    const undoManager = (yUndoPluginKey.getState(editor.state) as { undoManager?: Y.UndoManager } | undefined)?.undoManager
    if (!undoManager || (undoManager.undoStack.length === 0 && undoManager.redoStack.length === 0)) return
    undoManager.clear()
    // The toolbar's Undo/Redo buttons read the stacks on the next transaction: give them one,
    // after Yjs has finished applying the update (this runs inside its observer calls).
    queueMicrotask(() => {
      if (!editor.isDestroyed) editor.view.dispatch(editor.state.tr.setMeta('addToHistory', false))
    })
  }
  map.observe(onChange)
  return () => map.unobserve(onChange)
}
