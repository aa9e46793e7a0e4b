import type { Editor } from '@tiptap/core'
import type { Node as PMNode } from '@tiptap/pm/model'
import type { Transaction } from '@tiptap/pm/state'

/** Longest title kept (the tab and the recent list cut it anyway). */
const MAX_TITLE = 120

/**
 * The document's title: the text of its first heading (top-level blocks only, stopping at the
 * first), or '' when it has none.
 */
function titleOf(doc: PMNode): string {
  for (let i = 0; i < doc.childCount; i++) {
    const node = doc.child(i)
    if (node.type.name === 'heading') return node.textContent.replace(/\s+/g, ' ').trim().slice(0, MAX_TITLE)
  }
  return ''
}

/** How long the title waits after a change before it is read again: a title is not per keystroke. */
const SETTLE_MS = 400

/**
 * Calls `onChange(title)` with the title now and whenever it changes. Per transaction this costs
 * a flag test: the title is read once per SETTLE_MS after document changes, never per keystroke.
 */
export function watchTitle(editor: Editor, onChange: (title: string) => void): () => void {
  let title = titleOf(editor.state.doc)
  let timer: ReturnType<typeof setTimeout> | undefined
  const read = () => {
    timer = undefined
    if (editor.isDestroyed) return
    const next = titleOf(editor.state.doc)
    if (next === title) return
    title = next
    onChange(title)
  }
  const onTransaction = ({ transaction }: { transaction: Transaction }) => {
    if (transaction.docChanged && timer === undefined) timer = setTimeout(read, SETTLE_MS)
  }
  editor.on('transaction', onTransaction)
  onChange(title)
  return () => {
    clearTimeout(timer)
    editor.off('transaction', onTransaction)
  }
}
