import type { AnyExtension } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'
import { TaskItem, TaskList } from '@tiptap/extension-list'
import { TableKit } from '@tiptap/extension-table'
import Highlight from '@tiptap/extension-highlight'
import { isSafeHref } from './links.js'

export { isSafeHref }

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
      link: {
        openOnClick: false,
        // A typed or pasted URL becomes a link (autolink, linkOnPaste: Tiptap's defaults), with
        // https:// where no scheme was given; whatever the way in (typed, pasted HTML, a command),
        // only a target the server's content API also accepts.
        defaultProtocol: 'https',
        isAllowedUri: (url) => isSafeHref(url),
      },
    }),
    // Checkbox items; `[ ] ` or `[x] ` at the start of a line makes one. Markdown `- [ ] `.
    TaskList,
    TaskItem.configure({ nested: true }),
    // Tables with a header row; Tab / Shift-Tab move between cells. GFM tables in Markdown.
    // Not resizable: column widths would be per-client pixel values in the shared document.
    TableKit.configure({ table: { resizable: false } }),
    // One colour (`<mark>`, Markdown `==text==`).
    Highlight,
  ]
}
