import type { Node as PMNode } from '@tiptap/pm/model'
import { Plugin } from '@tiptap/pm/state'
import { Decoration, DecorationSet } from '@tiptap/pm/view'
import type { DiffResult } from './diff.js'

/**
 * A diff (diff.ts) drawn inside the version shown read-only: inserted words underlined on a tint,
 * deleted words struck through where they were, whole blocks likewise with a bar at their side.
 * The colour is the author's when the change has exactly one, else neutral (`color`). Never
 * colour alone: underline and strike-through carry the meaning, the text keeps the normal colour
 * on a light tint (contrast), and each change starts with visually hidden "inserted:" /
 * "deleted:" text for screen readers.
 */

export const NEUTRAL = '#868e96'

/** The custom properties the marks' CSS (history.css) takes the colour from. */
export const diffStyle = (color: string) => `--tandem-diff-color: ${color}; --tandem-diff-tint: ${tint(color)}`

export function diffPlugin(doc: PMNode, diff: DiffResult, color: string): Plugin {
  const style = diffStyle(color)
  const decorations: Decoration[] = []
  const say = (pos: number, text: string) =>
    decorations.push(Decoration.widget(pos, (view) => hidden(view.dom.ownerDocument, text), { side: -1, ignoreSelection: true, key: `sr-${text}-${pos}` }))

  for (const r of diff.inserted) {
    say(r.from, 'inserted: ')
    decorations.push(Decoration.inline(r.from, r.to, { nodeName: 'ins', class: 'tandem-diff-ins', style }))
  }
  for (const d of diff.deleted) {
    decorations.push(
      Decoration.widget(d.pos, (view) => deletion(view.dom.ownerDocument, 'span', d.text, style), { side: -1, marks: [], ignoreSelection: true, key: `del-${d.pos}-${d.text}` }),
    )
  }
  for (const r of diff.insertedBlocks) {
    decorations.push(Decoration.node(r.from, r.to, { class: 'tandem-diff-block-ins', style }))
    const inner = firstInline(doc, r.from)
    if (inner !== undefined) {
      say(inner, 'inserted block: ')
      decorations.push(Decoration.inline(r.from, r.to, { nodeName: 'ins', class: 'tandem-diff-ins', style }))
    }
  }
  for (const d of diff.deletedBlocks) {
    decorations.push(
      Decoration.widget(d.pos, (view) => deletion(view.dom.ownerDocument, 'div', d.text, style, 'deleted block: '), {
        side: -1,
        ignoreSelection: true,
        key: `delblock-${d.pos}-${d.text}`,
      }),
    )
  }
  for (const r of diff.changedBlocks) decorations.push(Decoration.node(r.from, r.to, { class: 'tandem-diff-block-changed', style }))
  const set = DecorationSet.create(doc, decorations)
  return new Plugin({ props: { decorations: () => set } })
}

function hidden(doc: Document, text: string): HTMLElement {
  const s = doc.createElement('span')
  s.className = 'tandem-diff-sr'
  s.textContent = text
  return s
}

function deletion(doc: Document, tag: 'span' | 'div', text: string, style: string, label = 'deleted: '): HTMLElement {
  const box = doc.createElement(tag)
  box.className = tag === 'div' ? 'tandem-diff-block-del' : 'tandem-diff-del-wrap'
  box.setAttribute('style', style)
  box.contentEditable = 'false'
  const del = doc.createElement('del')
  del.className = 'tandem-diff-del'
  del.textContent = text
  box.append(hidden(doc, label), del)
  return box
}

/** The first position inside a textblock at or after `pos` within the block at `pos`. */
function firstInline(doc: PMNode, pos: number): number | undefined {
  const block = doc.nodeAt(pos)
  if (!block) return undefined
  let found: number | undefined
  block.descendants((node, offset) => {
    if (found !== undefined) return false
    if (node.isTextblock) found = pos + 1 + offset + 1
    return found === undefined
  })
  return block.isTextblock ? pos + 1 : found
}

/** `#rrggbb` at 22 % opacity: a tint behind text that keeps the text's own contrast in light and dark. */
function tint(color: string): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color)
  if (!m) return 'rgb(134 142 150 / 0.22)'
  return `rgb(${parseInt(m[1]!, 16)} ${parseInt(m[2]!, 16)} ${parseInt(m[3]!, 16)} / 0.22)`
}
