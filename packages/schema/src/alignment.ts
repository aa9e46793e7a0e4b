import TextAlign from '@tiptap/extension-text-align'

/** The alignments a paragraph or heading may have (none: the start of the line). */
export const ALIGNMENTS = ['left', 'center', 'right'] as const

export function isValidAlignment(value: unknown): boolean {
  return value === null || (typeof value === 'string' && (ALIGNMENTS as readonly string[]).includes(value))
}

/**
 * @tiptap/extension-text-align on paragraphs and headings: `textAlign` left, center or right
 * (HTML `style="text-align: …"`; Markdown has no alignment and leaves it out). Only those values
 * ever reach a style attribute: a document written straight into Yjs, or JSON sent to the content
 * API, could hold any string there (`left; background: url(…)`).
 */
export const DocumentTextAlign = TextAlign.extend({
  addGlobalAttributes() {
    return (this.parent?.() ?? []).map((global) => ({
      ...global,
      attributes: Object.fromEntries(
        Object.entries(global.attributes).map(([name, spec]) => [
          name,
          { ...spec, renderHTML: (attrs: Record<string, unknown>) => (isValidAlignment(attrs[name]) && attrs[name] ? { style: `text-align: ${attrs[name] as string}` } : {}) },
        ]),
      ),
    }))
  },
  // Ctrl+Shift+L / E / R (Tiptap's); not J (justify is not offered, and it opens the browser's console).
  addKeyboardShortcuts() {
    return {
      'Mod-Shift-l': () => this.editor.commands.setTextAlign('left'),
      'Mod-Shift-e': () => this.editor.commands.setTextAlign('center'),
      'Mod-Shift-r': () => this.editor.commands.setTextAlign('right'),
    }
  },
}).configure({ types: ['heading', 'paragraph'], alignments: [...ALIGNMENTS], defaultAlignment: null })
