import type { AnyExtension } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import type * as Y from 'yjs'
import type { Awareness } from 'y-protocols/awareness'
import type { EditorUser } from './identity.js'

/**
 * The Y.XmlFragment holding the document: Tiptap's default. README ("The editor") documents it,
 * so any Yjs client can read and write the document: keep it.
 */
export const DOCUMENT_FIELD = 'default'

export interface CollabExtensionOptions {
  doc: Y.Doc
  awareness: Awareness
  user: EditorUser
}

/** Caret: a zero-width span (its borders cancel its margins) with an absolutely placed label. */
function renderCaret(user: { name?: string; color?: string }): HTMLElement {
  const caret = document.createElement('span')
  caret.className = 'collaboration-carets__caret'
  caret.style.borderColor = user.color ?? '#868e96'
  caret.setAttribute('aria-hidden', 'true')
  const label = document.createElement('span')
  label.className = 'collaboration-carets__label'
  label.style.backgroundColor = user.color ?? '#868e96'
  label.textContent = user.name ?? 'Anonymous'
  caret.append(label)
  return caret
}

export function collabExtensions({ doc, awareness, user }: CollabExtensionOptions): AnyExtension[] {
  return [
    StarterKit.configure({
      // Yjs owns history: ProseMirror's undo would also revert other people's edits.
      undoRedo: false,
      // Every client would append its own trailing paragraph to the shared document, so
      // concurrent sessions pile up empty paragraphs at the end.
      trailingNode: false,
      link: { openOnClick: false },
    }),
    Collaboration.configure({ document: doc, field: DOCUMENT_FIELD }),
    // CollaborationCaret only reads `provider.awareness`; passing the Awareness keeps the
    // extension independent of the transport.
    CollaborationCaret.configure({ provider: { awareness }, user, render: renderCaret }),
  ]
}
