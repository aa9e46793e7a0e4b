import type { AnyExtension } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'
import Link from '@tiptap/extension-link'
import { ORDERED_LIST_MARKER_PATTERN, OrderedList, TaskItem, TaskList } from '@tiptap/extension-list'
import { Table, TableCell, TableHeader, TableRow } from '@tiptap/extension-table'
import Highlight from '@tiptap/extension-highlight'
import { isSafeHref, withoutUnsafeLinks } from './links.js'
import { DocumentImage } from './images.js'
import { DocumentTextAlign } from './alignment.js'

export { isSafeHref, withoutUnsafeLinks }
export { IMAGE_WIDTHS, MAX_ALT_CHARS, isSafeImageSrc, isValidImageWidth, uploadPath } from './images.js'
export { ALIGNMENTS } from './alignment.js'
export { checkNode } from './checks.js'

/*
 * Markdown parsing, kept linear. @tiptap/markdown asks every block tokenizer at every block of
 * the document; Tiptap's table, task-list and ordered-list tokenizers first split ALL the
 * remaining Markdown into lines and only then look at the first one, which makes parsing a long
 * document quadratic (the server's content API parses whole documents). Each guard below reads
 * only the first line(s) and lets the original run where it could match: where it answers
 * nothing, the original would have answered nothing too.
 */
type Tokenizer = NonNullable<typeof Table.config.markdownTokenizer>
const firstLine = (src: string, from = 0): string => {
  const end = src.indexOf('\n', from)
  return src.slice(from, end < 0 ? undefined : end)
}
const guarded = (tokenizer: Tokenizer, couldMatch: (src: string) => boolean): Tokenizer => ({
  ...tokenizer,
  tokenize(src, tokens, lexer) {
    return couldMatch(src) ? tokenizer.tokenize.call(this, src, tokens, lexer) : undefined
  },
})

// A table: a line with a `|`, then a separator line (`| --- |`).
const SEPARATOR = /^[ \t|:]*-[ \t|:-]*$/
function tableStart(src: string): number {
  const head = firstLine(src)
  if (head.length === src.length || !head.includes('|')) return -1
  const sep = firstLine(src, head.length + 1)
  return SEPARATOR.test(sep) && sep.includes('|') ? 0 : -1
}
const tableTokenizer = Table.config.markdownTokenizer!
const TableLinear = Table.extend({ markdownTokenizer: { ...guarded(tableTokenizer, (src) => tableStart(src) === 0), start: tableStart } })
// A task list: blank lines, then `- [ ] ` (the item pattern of Tiptap's parseIndentedBlocks).
const TASK_ITEM = /^(?:[^\S\n]*\n)*[^\S\n]*[-+*][^\S\n]+\[[ xX]\][^\S\n]+/
const TaskListLinear = TaskList.extend({ markdownTokenizer: guarded(TaskList.config.markdownTokenizer!, (src) => TASK_ITEM.test(src)) })
// An ordered list: its first line is an item (Tiptap's ORDERED_LIST_ITEM_REGEX).
const ORDERED_ITEM = new RegExp(`^(\\s*)(${ORDERED_LIST_MARKER_PATTERN})([.)])\\s+(.*)$`)
const OrderedListLinear = OrderedList.extend({ markdownTokenizer: guarded(OrderedList.config.markdownTokenizer!, (src) => ORDERED_ITEM.test(firstLine(src))) })

/**
 * The Y.XmlFragment holding the document: Tiptap's default. README ("The editor") documents it,
 * so any Yjs client can read and write the document: keep it.
 */
export const DOCUMENT_FIELD = 'default'

/**
 * Where a restore marks itself inside the document (the server writes the key in the restore's
 * update, editors drop their undo stacks when it changes remotely): the map and its key, here so
 * the two sides cannot drift apart (apps/server/src/history/restore-marker.ts,
 * apps/editor/src/history/restore-undo.ts).
 */
export const HISTORY_MAP = 'tandem-history'
export const RESTORED_KEY = 'restored'

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
      // Link and the ordered list come separately, configured below.
      link: false,
      orderedList: false,
    }),
    // A typed or pasted URL becomes a link (autolink, linkOnPaste: Tiptap's defaults), with
    // https:// where no scheme was given; whatever the way in (typed, pasted HTML, a command),
    // only a target the server's content API also accepts. Typing at a link's end does not
    // extend it (as in word processors; Tiptap makes autolinks inclusive).
    Link.extend({ inclusive: false }).configure({
      openOnClick: false,
      defaultProtocol: 'https',
      isAllowedUri: (url) => isSafeHref(url),
    }),
    OrderedListLinear,
    // Checkbox items; `[ ] ` or `[x] ` at the start of a line makes one. Markdown `- [ ] `.
    TaskListLinear,
    TaskItem.configure({ nested: true }),
    // Tables with a header row; Tab / Shift-Tab move between cells. GFM tables in Markdown.
    // Not resizable: column widths would be per-client pixel values in the shared document.
    TableLinear.configure({ resizable: false }),
    TableRow,
    TableHeader,
    TableCell,
    // One colour (`<mark>`, Markdown `==text==`).
    Highlight,
    // Uploaded images, inline, with alt text and a width (images.ts).
    DocumentImage,
    // Left / center / right on paragraphs and headings (alignment.ts).
    DocumentTextAlign,
  ]
}
