import type { AnyExtension } from '@tiptap/core'
import { DOCUMENT_FIELD, documentExtensions } from '@tandem/schema'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import type * as Y from 'yjs'
import type { Awareness } from 'y-protocols/awareness'
import type { EditorUser } from './identity.js'

// The schema (nodes, marks, their configuration) lives in @tandem/schema, shared with the
// server's content API; this file adds what only a live editor needs.
export { DOCUMENT_FIELD }

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
    ...documentExtensions(),
    Collaboration.configure({ document: doc, field: DOCUMENT_FIELD }),
    // CollaborationCaret only reads `provider.awareness`; passing the Awareness keeps the
    // extension independent of the transport.
    CollaborationCaret.configure({ provider: { awareness }, user, render: renderCaret }),
  ]
}
