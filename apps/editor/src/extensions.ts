import { Extension, type AnyExtension } from '@tiptap/core'
import { Plugin, PluginKey } from '@tiptap/pm/state'
import { ySyncPluginKey } from '@tiptap/y-tiptap'
import { DOCUMENT_FIELD, documentExtensions } from '@tandem/schema'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import type * as Y from 'yjs'
import type { Awareness } from 'y-protocols/awareness'
import { whiteReadsOn, type EditorUser } from './identity.js'
import { MarkdownPaste } from './markdown.js'
import { editableImage } from './images/image-extension.js'
import type { ImageHooks } from './images/uploads-plugin.js'

// The schema (nodes, marks, their configuration) lives in @tandem/schema, shared with the
// server's content API; this file adds what only a live editor needs.
export { DOCUMENT_FIELD }

/** What the editor's own shortcuts open: filled in by mountEditor once the UI exists. */
export interface EditorHandlers {
  /** Ctrl/⌘ K: the link field. */
  editLink(): boolean
  /** Alt+F10: the toolbar. */
  focusToolbar(): boolean
}

export interface CollabExtensionOptions {
  doc: Y.Doc
  awareness: Awareness
  user: EditorUser
  handlers: EditorHandlers
  /** uploads (paste, drop) and how images show (images/) */
  images: ImageHooks
}

/** The editor's own shortcuts. (Built per editor: Tiptap copies options, so handlers go by closure.) */
const shortcuts = (handlers: EditorHandlers) =>
  Extension.create({
    name: 'tandemShortcuts',
    addKeyboardShortcuts: () => ({ 'Mod-k': () => handlers.editLink(), 'Alt-F10': () => handlers.focusToolbar() }),
  })

/**
 * A change that came from another editor is not autolinked here: its author's editor does that
 * (and writes the link into the shared document once), not every editor that receives it.
 * One meta lookup per transaction.
 */
const RemoteNoAutolink = Extension.create({
  name: 'tandemRemoteNoAutolink',
  addProseMirrorPlugins: () => [
    new Plugin({
      key: new PluginKey('tandemRemoteNoAutolink'),
      filterTransaction(tr) {
        if ((tr.getMeta(ySyncPluginKey) as { isChangeOrigin?: boolean } | undefined)?.isChangeOrigin) tr.setMeta('preventAutolink', true)
        return true
      },
    }),
  ],
})

/** Caret: a zero-width span (its borders cancel its margins) with an absolutely placed label. */
function renderCaret(user: { name?: string; color?: string }): HTMLElement {
  const caret = document.createElement('span')
  caret.className = 'collaboration-carets__caret'
  caret.style.borderColor = user.color ?? '#868e96'
  caret.setAttribute('aria-hidden', 'true')
  const label = document.createElement('span')
  label.className = 'collaboration-carets__label'
  label.style.backgroundColor = user.color ?? '#868e96'
  // White on a light colour is unreadable (WCAG contrast 4.5:1 for the 11 px name): black then
  // (one of the two always reaches 4.5).
  if (!whiteReadsOn(user.color ?? '#868e96')) label.style.color = '#000'
  label.textContent = user.name ?? 'Anonymous'
  caret.append(label)
  return caret
}

export function collabExtensions({ doc, awareness, user, handlers, images }: CollabExtensionOptions): AnyExtension[] {
  return [
    ...documentExtensions().map((e) => (e.name === 'image' ? editableImage(e, images) : e)),
    shortcuts(handlers),
    RemoteNoAutolink,
    MarkdownPaste,
    Collaboration.configure({ document: doc, field: DOCUMENT_FIELD }),
    // CollaborationCaret only reads `provider.awareness`; passing the Awareness keeps the
    // extension independent of the transport.
    CollaborationCaret.configure({ provider: { awareness }, user, render: renderCaret }),
  ]
}
