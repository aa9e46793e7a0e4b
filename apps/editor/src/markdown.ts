import { Extension, type JSONContent } from '@tiptap/core'
import { Plugin, PluginKey } from '@tiptap/pm/state'
import { MarkdownManager } from '@tiptap/markdown'
import { documentExtensions, withoutUnsafeLinks } from '@tandem/schema'

/**
 * Markdown in the browser, with the server's converter: @tiptap/markdown over the schema's own
 * extension list, so a download is what `GET …/content?format=markdown` returns and a paste
 * becomes what a Markdown PUT would store. Built on first use (export or a Markdown-looking paste).
 */
let manager: MarkdownManager | undefined
const markdown = (): MarkdownManager => (manager ??= new MarkdownManager({ extensions: documentExtensions() }))

export function toMarkdown(json: JSONContent): string {
  return markdown().serialize(withoutUnsafeLinks(json))
}

function fromMarkdown(text: string): JSONContent {
  return withoutUnsafeLinks(markdown().parse(text))
}

/**
 * Whether plain text reads as Markdown rather than prose: a line that starts a Markdown block
 * (heading, list, task, quote, fence, table row) or an unambiguous inline construct
 * (`**bold**`, `[text](url)`, `` `code` ``). Plain prose pastes as it always did.
 */
const BLOCK = /^(?:#{1,6} \S|[-*+] \[[ xX]\] |[-*+] \S|\d{1,9}[.)] \S|> |```|~~~|\|.*\|\s*$)/m
const INLINE = /\*\*[^*\n]+\*\*|__[^_\n]+__|\[[^\]\n]+\]\([^)\s]+\)|`[^`\n]+`|~~[^~\n]+~~|==[^=\n]+==/
function looksLikeMarkdown(text: string): boolean {
  return BLOCK.test(text) || INLINE.test(text)
}

/** Longest paste parsed as Markdown; anything larger pastes as plain text (parsing is synchronous). */
const MAX_MARKDOWN_PASTE = 512 * 1024

/**
 * Import by pasting: plain text that looks like Markdown (and comes without HTML: a copy from a
 * web page or another editor keeps its own formatting) is inserted as the formatting it
 * describes. Not inside a code block, where it stays code.
 */
export const MarkdownPaste = Extension.create({
  name: 'tandemMarkdownPaste',
  addProseMirrorPlugins() {
    const editor = this.editor
    return [
      new Plugin({
        key: new PluginKey('tandemMarkdownPaste'),
        props: {
          handlePaste: (view, event) => {
            const data = event.clipboardData
            if (!data || data.types.includes('text/html')) return false
            const text = data.getData('text/plain')
            if (!text || text.length > MAX_MARKDOWN_PASTE || !looksLikeMarkdown(text)) return false
            if (view.state.selection.$from.parent.type.spec.code) return false
            const json = fromMarkdown(text)
            const content = json.content ?? []
            if (content.length === 0) return false
            // One paragraph pastes inline, into the line the caret is on.
            const inline = content.length === 1 && content[0]!.type === 'paragraph' ? (content[0]!.content ?? []) : content
            return editor.commands.insertContent(inline)
          },
        },
      }),
    ]
  },
})
