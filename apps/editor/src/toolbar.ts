import type { Editor } from '@tiptap/core'
import type { Transaction } from '@tiptap/pm/state'
import { yUndoPluginKey } from '@tiptap/y-tiptap'

interface ToolbarItem {
  id: string
  label: string
  /** inline SVG path data (24×24 viewBox) or short text glyph */
  icon: string
  /** shortcut with "Mod" for ⌘/Ctrl */
  keys: string
  run: (e: Editor) => boolean
  active?: (e: Editor) => boolean
  enabled?: (e: Editor) => boolean
}

const isMac = typeof navigator !== 'undefined' && /Mac|iP(hone|ad|od)/.test(navigator.platform || navigator.userAgent)

const shortcutText = (keys: string): string =>
  keys
    .split('-')
    .map((k) => (k === 'Mod' ? (isMac ? '⌘' : 'Ctrl') : k === 'Alt' ? (isMac ? '⌥' : 'Alt') : k === 'Shift' ? (isMac ? '⇧' : 'Shift') : k))
    .join(isMac ? '' : '+')

const chain = (e: Editor) => e.chain().focus()

/**
 * What `e.can().undo()` / `e.can().redo()` answer with Collaboration's commands (a non-empty Yjs
 * undo / redo stack), read directly: can() builds every command of the editor on each call.
 */
const hasSteps = (e: Editor, stack: 'undoStack' | 'redoStack'): boolean => {
  const undoManager = (yUndoPluginKey.getState(e.state) as { undoManager?: { undoStack: unknown[]; redoStack: unknown[] } } | undefined)?.undoManager
  return undoManager ? undoManager[stack].length > 0 : stack === 'undoStack' ? e.can().undo() : e.can().redo()
}

const GROUPS: ToolbarItem[][] = [
  [
    { id: 'bold', label: 'Bold', icon: 'B', keys: 'Mod-B', run: (e) => chain(e).toggleBold().run(), active: (e) => e.isActive('bold') },
    { id: 'italic', label: 'Italic', icon: 'I', keys: 'Mod-I', run: (e) => chain(e).toggleItalic().run(), active: (e) => e.isActive('italic') },
    { id: 'strike', label: 'Strikethrough', icon: 'S', keys: 'Mod-Shift-S', run: (e) => chain(e).toggleStrike().run(), active: (e) => e.isActive('strike') },
    { id: 'code', label: 'Inline code', icon: '</>', keys: 'Mod-E', run: (e) => chain(e).toggleCode().run(), active: (e) => e.isActive('code') },
  ],
  [
    { id: 'h1', label: 'Heading 1', icon: 'H1', keys: 'Mod-Alt-1', run: (e) => chain(e).toggleHeading({ level: 1 }).run(), active: (e) => e.isActive('heading', { level: 1 }) },
    { id: 'h2', label: 'Heading 2', icon: 'H2', keys: 'Mod-Alt-2', run: (e) => chain(e).toggleHeading({ level: 2 }).run(), active: (e) => e.isActive('heading', { level: 2 }) },
    { id: 'h3', label: 'Heading 3', icon: 'H3', keys: 'Mod-Alt-3', run: (e) => chain(e).toggleHeading({ level: 3 }).run(), active: (e) => e.isActive('heading', { level: 3 }) },
  ],
  [
    { id: 'bulletList', label: 'Bullet list', icon: 'M9 6h11M9 12h11M9 18h11M4.5 6h.01M4.5 12h.01M4.5 18h.01', keys: 'Mod-Shift-8', run: (e) => chain(e).toggleBulletList().run(), active: (e) => e.isActive('bulletList') },
    { id: 'orderedList', label: 'Numbered list', icon: 'M10 6h10M10 12h10M10 18h10M4 5l1.5-1v5M3.5 14.5a1.5 1.5 0 1 1 2.2 1.3L3.5 19h3', keys: 'Mod-Shift-7', run: (e) => chain(e).toggleOrderedList().run(), active: (e) => e.isActive('orderedList') },
    { id: 'blockquote', label: 'Quote', icon: 'M4 5v14M9 6h11M9 12h11M9 18h7', keys: 'Mod-Shift-B', run: (e) => chain(e).toggleBlockquote().run(), active: (e) => e.isActive('blockquote') },
    { id: 'codeBlock', label: 'Code block', icon: 'M8 8l-4 4 4 4M16 8l4 4-4 4M13.5 6l-3 12', keys: 'Mod-Alt-C', run: (e) => chain(e).toggleCodeBlock().run(), active: (e) => e.isActive('codeBlock') },
  ],
  [
    { id: 'undo', label: 'Undo', icon: 'M9 14L4 9l5-5M4 9h10.5a5.5 5.5 0 0 1 0 11H11', keys: 'Mod-Z', run: (e) => chain(e).undo().run(), enabled: (e) => hasSteps(e, 'undoStack') },
    { id: 'redo', label: 'Redo', icon: 'M15 14l5-5-5-5M20 9H9.5a5.5 5.5 0 0 0 0 11H13', keys: isMac ? 'Mod-Shift-Z' : 'Mod-Y', run: (e) => chain(e).redo().run(), enabled: (e) => hasSteps(e, 'redoStack') },
  ],
]

const SVG_NS = 'http://www.w3.org/2000/svg'

function iconFor(item: ToolbarItem): Node {
  if (!item.icon.startsWith('M')) {
    const span = document.createElement('span')
    span.className = `tandem-glyph tandem-glyph-${item.id}`
    span.textContent = item.icon
    return span
  }
  const svg = document.createElementNS(SVG_NS, 'svg')
  svg.setAttribute('viewBox', '0 0 24 24')
  svg.setAttribute('aria-hidden', 'true')
  const path = document.createElementNS(SVG_NS, 'path')
  path.setAttribute('d', item.icon)
  svg.append(path)
  return svg
}

export interface Toolbar {
  element: HTMLElement
  destroy(): void
}

/** A toolbar whose buttons reflect the selection (aria-pressed) and history (disabled). */
export function createToolbar(editor: Editor): Toolbar {
  const element = document.createElement('div')
  element.className = 'tandem-toolbar'
  element.setAttribute('role', 'toolbar')
  element.setAttribute('aria-label', 'Formatting')
  const buttons: Array<[ToolbarItem, HTMLButtonElement]> = []

  for (const group of GROUPS) {
    const g = document.createElement('div')
    g.className = 'tandem-toolbar-group'
    for (const item of group) {
      const button = document.createElement('button')
      button.type = 'button'
      button.className = 'tandem-tool'
      button.dataset.tool = item.id
      button.setAttribute('aria-label', item.label)
      button.title = `${item.label} (${shortcutText(item.keys)})`
      if (item.active) button.setAttribute('aria-pressed', 'false')
      button.append(iconFor(item))
      g.append(button)
      buttons.push([item, button])
    }
    element.append(g)
  }

  // Keep focus (and therefore our caret in everyone else's view) in the editor: a focused
  // button would blur ProseMirror, and y-tiptap clears the shared cursor on blur.
  const onMouseDown = (ev: MouseEvent) => {
    if ((ev.target as Element).closest('button')) ev.preventDefault()
  }
  const onClick = (ev: MouseEvent) => {
    const button = (ev.target as Element).closest<HTMLButtonElement>('button.tandem-tool')
    if (!button || button.disabled) return
    const entry = buttons.find(([, b]) => b === button)
    if (entry && editor.isEditable) entry[0].run(editor)
  }

  let frame = 0
  let shownEditable: boolean | undefined
  const refresh = () => {
    frame = 0
    if (editor.isDestroyed) return
    const editable = editor.isEditable
    shownEditable = editable
    for (const [item, button] of buttons) {
      // Only real changes touch the DOM: an attribute write, even of the same value, makes the
      // browser recompute the button's style.
      if (item.active) {
        const pressed = String(item.active(editor))
        if (button.getAttribute('aria-pressed') !== pressed) button.setAttribute('aria-pressed', pressed)
      }
      const disabled = !editable || (item.enabled ? !item.enabled(editor) : false)
      if (button.disabled !== disabled) button.disabled = disabled
    }
  }
  // Coalesce: remote typing can fire many transactions per frame.
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(refresh)
  }
  // What the buttons show depends on the document, the selection, stored marks, the undo stacks
  // (which change only with the document) and editability. Transactions that change none of
  // these (remote carets moving: y-tiptap dispatches one per awareness change) are skipped.
  const onTransaction = ({ transaction }: { transaction: Transaction }) => {
    if (transaction.docChanged || transaction.selectionSet || transaction.storedMarksSet || editor.isEditable !== shownEditable) schedule()
  }

  element.addEventListener('mousedown', onMouseDown)
  element.addEventListener('click', onClick)
  editor.on('transaction', onTransaction)
  editor.on('focus', schedule)
  refresh()

  return {
    element,
    destroy() {
      if (frame) cancelAnimationFrame(frame)
      editor.off('transaction', onTransaction)
      editor.off('focus', schedule)
      element.removeEventListener('mousedown', onMouseDown)
      element.removeEventListener('click', onClick)
      element.remove()
    },
  }
}
