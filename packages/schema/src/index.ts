import type { AnyExtension } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'

/**
 * The Y.XmlFragment holding the document: Tiptap's default. README ("The editor") documents it,
 * so any Yjs client can read and write the document: keep it.
 */
export const DOCUMENT_FIELD = 'default'

/**
 * The document's schema as Tiptap extensions: every node and mark the editor offers, configured
 * as the editor uses them. The editor adds its collaboration extensions on top (they add no node
 * or mark); the server builds the same ProseMirror schema from this list (`getSchema`) to read
 * and write documents over HTTP. One list, so the two can never disagree on what a document may
 * hold. Nothing here needs a browser.
 */
export function documentExtensions(): AnyExtension[] {
  return [
    StarterKit.configure({
      // Yjs owns history: ProseMirror's undo would also revert other people's edits.
      undoRedo: false,
      // Every client would append its own trailing paragraph to the shared document, so
      // concurrent sessions pile up empty paragraphs at the end.
      trailingNode: false,
      link: { openOnClick: false },
    }),
  ]
}
