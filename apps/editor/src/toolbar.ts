import type { Editor } from '@tiptap/core'
import type { Transaction } from '@tiptap/pm/state'
import { yUndoPluginKey } from '@tiptap/y-tiptap'

interface ToolbarItem {
  id: string
  label: string
  /** inline SVG path data (24×24 viewBox) or short text glyph */
  icon: string
  /** shortcut with "Mod" for ⌘/Ctrl; '' for none */
  keys: string
  run: (e: Editor, actions: ToolbarActions) => boolean | void
  active?: (e: Editor) => boolean
  enabled?: (e: Editor) => boolean
}

interface ToolbarGroup {
  id: string
  label: string
  items: ToolbarItem[]
  /** Shown only while this holds (the table tools: while the caret is in a table). */
  when?: (e: Editor) => boolean
}

/** What the toolbar does beyond editor commands: the link box, export, print. */
interface ToolbarActions {
  editLink(): boolean
  /** the file picker: the chosen images are uploaded and inserted (images/mount-images.ts) */
  pickImage(): void
  downloadMarkdown(): void
  downloadHtml(): void
  print(): void
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

/** The alignment of the block holding the caret (a paragraph or heading). */
const isAligned = (e: Editor, align: 'center' | 'right') => e.isActive('paragraph', { textAlign: align }) || e.isActive('heading', { textAlign: align })

const GROUPS: ToolbarGroup[] = [
  {
    id: 'marks',
    label: 'Text style',
    items: [
      { id: 'bold', label: 'Bold', icon: 'B', keys: 'Mod-B', run: (e) => chain(e).toggleBold().run(), active: (e) => e.isActive('bold') },
      { id: 'italic', label: 'Italic', icon: 'I', keys: 'Mod-I', run: (e) => chain(e).toggleItalic().run(), active: (e) => e.isActive('italic') },
      { id: 'strike', label: 'Strikethrough', icon: 'S', keys: 'Mod-Shift-S', run: (e) => chain(e).toggleStrike().run(), active: (e) => e.isActive('strike') },
      { id: 'code', label: 'Inline code', icon: '</>', keys: 'Mod-E', run: (e) => chain(e).toggleCode().run(), active: (e) => e.isActive('code') },
      { id: 'highlight', label: 'Highlight', icon: 'M15 5l4 4M4 20h5l10.5-10.5a2.8 2.8 0 0 0-4-4L5 16v4', keys: 'Mod-Shift-H', run: (e) => chain(e).toggleHighlight().run(), active: (e) => e.isActive('highlight') },
      { id: 'link', label: 'Link', icon: 'M10 14a4 4 0 0 0 5.66 0l3-3a4 4 0 0 0-5.66-5.66l-1 1M14 10a4 4 0 0 0-5.66 0l-3 3a4 4 0 0 0 5.66 5.66l1-1', keys: 'Mod-K', run: (_e, a) => a.editLink(), active: (e) => e.isActive('link') },
    ],
  },
  {
    id: 'headings',
    label: 'Headings',
    items: [
      { id: 'h1', label: 'Heading 1', icon: 'H1', keys: 'Mod-Alt-1', run: (e) => chain(e).toggleHeading({ level: 1 }).run(), active: (e) => e.isActive('heading', { level: 1 }) },
      { id: 'h2', label: 'Heading 2', icon: 'H2', keys: 'Mod-Alt-2', run: (e) => chain(e).toggleHeading({ level: 2 }).run(), active: (e) => e.isActive('heading', { level: 2 }) },
      { id: 'h3', label: 'Heading 3', icon: 'H3', keys: 'Mod-Alt-3', run: (e) => chain(e).toggleHeading({ level: 3 }).run(), active: (e) => e.isActive('heading', { level: 3 }) },
    ],
  },
  {
    id: 'blocks',
    label: 'Blocks',
    items: [
      { id: 'bulletList', label: 'Bullet list', icon: 'M9 6h11M9 12h11M9 18h11M4.5 6h.01M4.5 12h.01M4.5 18h.01', keys: 'Mod-Shift-8', run: (e) => chain(e).toggleBulletList().run(), active: (e) => e.isActive('bulletList') },
      { id: 'orderedList', label: 'Numbered list', icon: 'M10 6h10M10 12h10M10 18h10M4 5l1.5-1v5M3.5 14.5a1.5 1.5 0 1 1 2.2 1.3L3.5 19h3', keys: 'Mod-Shift-7', run: (e) => chain(e).toggleOrderedList().run(), active: (e) => e.isActive('orderedList') },
      { id: 'taskList', label: 'Task list', icon: 'M4 5h5v5H4zM12 7.5h8M4 14h5v5H4zM12 16.5h8M5.3 16.6l1.2 1.2 2-2.4', keys: 'Mod-Shift-9', run: (e) => chain(e).toggleTaskList().run(), active: (e) => e.isActive('taskList') },
      { id: 'blockquote', label: 'Quote', icon: 'M4 5v14M9 6h11M9 12h11M9 18h7', keys: 'Mod-Shift-B', run: (e) => chain(e).toggleBlockquote().run(), active: (e) => e.isActive('blockquote') },
      { id: 'codeBlock', label: 'Code block', icon: 'M8 8l-4 4 4 4M16 8l4 4-4 4M13.5 6l-3 12', keys: 'Mod-Alt-C', run: (e) => chain(e).toggleCodeBlock().run(), active: (e) => e.isActive('codeBlock') },
      { id: 'horizontalRule', label: 'Divider', icon: 'M3 12h18M8 7h8M8 17h8', keys: '', run: (e) => chain(e).setHorizontalRule().run() },
      { id: 'table', label: 'Insert table', icon: 'M4 5h16v14H4zM4 10h16M4 15h16M10 5v14', keys: '', run: (e) => chain(e).insertTable({ rows: 3, cols: 3, withHeaderRow: true }).run() },
      { id: 'image', label: 'Insert image', icon: 'M4 5h16v14H4zM4 16l5-5 4 4 2-2 5 5M15.5 9.5h.01', keys: '', run: (_e, a) => a.pickImage() },
    ],
  },
  {
    id: 'align',
    label: 'Alignment',
    items: [
      { id: 'alignLeft', label: 'Align left', icon: 'M4 6h16M4 10h10M4 14h16M4 18h10', keys: 'Mod-Shift-L', run: (e) => chain(e).unsetTextAlign().run(), active: (e) => !isAligned(e, 'center') && !isAligned(e, 'right') },
      { id: 'alignCenter', label: 'Align center', icon: 'M4 6h16M7 10h10M4 14h16M7 18h10', keys: 'Mod-Shift-E', run: (e) => chain(e).setTextAlign('center').run(), active: (e) => isAligned(e, 'center') },
      { id: 'alignRight', label: 'Align right', icon: 'M4 6h16M10 10h10M4 14h16M10 18h10', keys: 'Mod-Shift-R', run: (e) => chain(e).setTextAlign('right').run(), active: (e) => isAligned(e, 'right') },
    ],
  },
  {
    id: 'table',
    label: 'Table',
    when: (e) => e.isActive('table'),
    items: [
      { id: 'addRowAfter', label: 'Add row below', icon: '+Row', keys: '', run: (e) => chain(e).addRowAfter().run() },
      { id: 'addColumnAfter', label: 'Add column right', icon: '+Col', keys: '', run: (e) => chain(e).addColumnAfter().run() },
      { id: 'deleteRow', label: 'Delete row', icon: '−Row', keys: '', run: (e) => chain(e).deleteRow().run() },
      { id: 'deleteColumn', label: 'Delete column', icon: '−Col', keys: '', run: (e) => chain(e).deleteColumn().run() },
      { id: 'toggleHeaderRow', label: 'Header row', icon: 'Head', keys: '', run: (e) => chain(e).toggleHeaderRow().run() },
      { id: 'deleteTable', label: 'Delete table', icon: 'M4 5h16v14H4zM9 10l6 6M15 10l-6 6', keys: '', run: (e) => chain(e).deleteTable().run() },
    ],
  },
  {
    id: 'history',
    label: 'History',
    items: [
      { id: 'undo', label: 'Undo', icon: 'M9 14L4 9l5-5M4 9h10.5a5.5 5.5 0 0 1 0 11H11', keys: 'Mod-Z', run: (e) => chain(e).undo().run(), enabled: (e) => hasSteps(e, 'undoStack') },
      { id: 'redo', label: 'Redo', icon: 'M15 14l5-5-5-5M20 9H9.5a5.5 5.5 0 0 0 0 11H13', keys: isMac ? 'Mod-Shift-Z' : 'Mod-Y', run: (e) => chain(e).redo().run(), enabled: (e) => hasSteps(e, 'redoStack') },
    ],
  },
  {
    id: 'export',
    label: 'Export',
    items: [
      { id: 'downloadMarkdown', label: 'Download as Markdown', icon: '.md', keys: '', run: (_e, a) => a.downloadMarkdown() },
      { id: 'downloadHtml', label: 'Download as HTML', icon: '.html', keys: '', run: (_e, a) => a.downloadHtml() },
      { id: 'print', label: 'Print or save as PDF', icon: 'M7 9V4h10v5M7 17H5a1 1 0 0 1-1-1v-5a2 2 0 0 1 2-2h12a2 2 0 0 1 2 2v5a1 1 0 0 1-1 1h-2M7 14h10v6H7z', keys: 'Mod-P', run: (_e, a) => a.print() },
    ],
  },
]

/** Export works in a read-only editor too: those buttons stay enabled. */
const READ_ONLY_OK = new Set(['downloadMarkdown', 'downloadHtml', 'print'])

const SVG_NS = 'http://www.w3.org/2000/svg'

function iconFor(item: ToolbarItem): Node {
  if (!item.icon.startsWith('M')) {
    const span = document.createElement('span')
    span.className = `tandem-glyph tandem-glyph-${item.id}`
    // Drawn by CSS (::before), not text: the button's name is its label ("Heading 1"), and a
    // visible text that is not part of it ("H1") fails WCAG 2.5.3 (axe: label-content-name-mismatch).
    span.dataset.glyph = item.icon
    span.setAttribute('aria-hidden', 'true')
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
  /** Moves focus to the toolbar's tab stop. */
  focus(): void
  destroy(): void
}

/**
 * A toolbar whose buttons reflect the selection (aria-pressed) and history (disabled). One tab
 * stop (roving tabindex, the ARIA toolbar pattern): Tab reaches the last-used button, the arrow
 * keys, Home and End move between buttons, Escape goes back to the text; Alt+F10 in the text
 * comes here (mountEditor binds it).
 */
export function createToolbar(editor: Editor, actions: ToolbarActions, { readOnly = false } = {}): Toolbar {
  const element = document.createElement('div')
  element.className = 'tandem-toolbar'
  element.setAttribute('role', 'toolbar')
  element.setAttribute('aria-label', 'Formatting')
  const buttons: Array<[ToolbarItem, HTMLButtonElement]> = []
  const conditional: Array<[ToolbarGroup, HTMLElement]> = []

  for (const group of GROUPS) {
    if (readOnly && !group.items.some((i) => READ_ONLY_OK.has(i.id))) continue
    const g = document.createElement('div')
    g.className = 'tandem-toolbar-group'
    g.dataset.group = group.id
    g.setAttribute('role', 'group')
    g.setAttribute('aria-label', group.label)
    if (group.when) {
      g.hidden = true
      conditional.push([group, g])
    }
    for (const item of group.items) {
      const button = document.createElement('button')
      button.type = 'button'
      button.className = 'tandem-tool'
      button.dataset.tool = item.id
      button.tabIndex = -1
      button.setAttribute('aria-label', item.label)
      button.title = item.keys ? `${item.label} (${shortcutText(item.keys)})` : item.label
      if (item.keys) button.setAttribute('aria-keyshortcuts', item.keys.replace('Mod', isMac ? 'Meta' : 'Control'))
      if (item.active) button.setAttribute('aria-pressed', 'false')
      button.append(iconFor(item))
      g.append(button)
      buttons.push([item, button])
    }
    element.append(g)
  }
  // The one tab stop: the first button until another is used.
  let current = buttons[0]?.[1]
  if (current) current.tabIndex = 0

  // From the DOM, in its order: buttons other parts add to the toolbar (the History panel's) take part too.
  const reachable = () =>
    [...element.querySelectorAll<HTMLButtonElement>('button.tandem-tool')].filter((b) => !b.disabled && !(b.parentElement as HTMLElement).hidden)
  const moveTo = (button: HTMLButtonElement | undefined) => {
    if (!button) return
    if (current && current !== button) current.tabIndex = -1
    current = button
    button.tabIndex = 0
    button.focus()
  }
  const onKeyDown = (ev: KeyboardEvent) => {
    const list = reachable()
    const at = list.indexOf(ev.target as HTMLButtonElement)
    if (ev.key === 'ArrowRight' || ev.key === 'ArrowDown') moveTo(list[(at + 1) % list.length])
    else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowUp') moveTo(list[(at - 1 + list.length) % list.length])
    else if (ev.key === 'Home') moveTo(list[0])
    else if (ev.key === 'End') moveTo(list[list.length - 1])
    else if (ev.key === 'Escape') editor.commands.focus()
    else return
    ev.preventDefault()
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
    if (!entry) return
    if (current !== button) {
      if (current) current.tabIndex = -1
      current = button
      button.tabIndex = 0
    }
    if (editor.isEditable || READ_ONLY_OK.has(entry[0].id)) entry[0].run(editor, actions)
  }

  let frame = 0
  let shownEditable: boolean | undefined
  const refresh = () => {
    frame = 0
    if (editor.isDestroyed) return
    const editable = editor.isEditable
    shownEditable = editable
    for (const [group, g] of conditional) {
      const hidden = !editable || !group.when!(editor)
      if (g.hidden !== hidden) g.hidden = hidden
    }
    for (const [item, button] of buttons) {
      // Only real changes touch the DOM: an attribute write, even of the same value, makes the
      // browser recompute the button's style.
      if (item.active) {
        const pressed = String(item.active(editor))
        if (button.getAttribute('aria-pressed') !== pressed) button.setAttribute('aria-pressed', pressed)
      }
      const disabled = READ_ONLY_OK.has(item.id) ? false : !editable || (item.enabled ? !item.enabled(editor) : false)
      if (button.disabled !== disabled) button.disabled = disabled
    }
    // The tab stop must stay on a button that can take focus.
    if (current && (current.disabled || (current.parentElement as HTMLElement).hidden)) {
      const next = reachable()[0]
      if (next) {
        current.tabIndex = -1
        current = next
        next.tabIndex = 0
      }
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
  element.addEventListener('keydown', onKeyDown)
  editor.on('transaction', onTransaction)
  editor.on('focus', schedule)
  refresh()

  return {
    element,
    focus() {
      moveTo(current && !current.disabled && !(current.parentElement as HTMLElement).hidden ? current : reachable()[0])
    },
    destroy() {
      if (frame) cancelAnimationFrame(frame)
      editor.off('transaction', onTransaction)
      editor.off('focus', schedule)
      element.removeEventListener('mousedown', onMouseDown)
      element.removeEventListener('click', onClick)
      element.removeEventListener('keydown', onKeyDown)
      element.remove()
    },
  }
}
