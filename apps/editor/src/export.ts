import type { Editor } from '@tiptap/core'
import { toMarkdown } from './markdown.js'

/**
 * Export, done in the browser with the schema the server uses: Markdown (@tiptap/markdown, as
 * `GET …/content?format=markdown`), HTML (the editor's own serializer, in a standalone page) and
 * print / PDF (the browser's dialog; editor.css hides everything but the document in print).
 */

/** A file name from the document's title: letters, digits and dashes, never empty. */
function fileNameFor(title: string, extension: string): string {
  const base = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
  return `${base || 'document'}.${extension}`
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)

/** The document as a page of its own: readable without our stylesheet, no script. */
function htmlPage(editor: Editor, title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { max-width: 46rem; margin: 2rem auto; padding: 0 1rem; font: 17px/1.6 system-ui, sans-serif; color: #1f2328; }
table { border-collapse: collapse; } th, td { border: 1px solid #d8dee4; padding: .3em .6em; text-align: left; vertical-align: top; }
th p, td p { margin: 0; } pre { background: #f6f8fa; padding: .75em 1em; overflow-x: auto; } blockquote { margin-left: 0; padding-left: 1em; border-left: 3px solid #d8dee4; color: #656d76; }
ul[data-type="taskList"] { list-style: none; padding-left: .2em; } ul[data-type="taskList"] li { display: flex; gap: .5em; } ul[data-type="taskList"] li > div { flex: 1; } ul[data-type="taskList"] p { margin: 0; }
mark { background: #fff3a3; }
</style>
</head>
<body>
${editor.getHTML()}
</body>
</html>
`
}

function download(doc: Document, name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const a = doc.createElement('a')
  a.href = url
  a.download = name
  a.hidden = true
  doc.body.append(a)
  a.click()
  a.remove()
  // The download has started from the click; the URL is no longer needed after this task.
  setTimeout(() => URL.revokeObjectURL(url), 0)
}

export function downloadMarkdown(editor: Editor, title: string): void {
  const doc = editor.view.dom.ownerDocument
  download(doc, fileNameFor(title, 'md'), 'text/markdown;charset=utf-8', toMarkdown(editor.getJSON()))
}

export function downloadHtml(editor: Editor, title: string): void {
  const doc = editor.view.dom.ownerDocument
  download(doc, fileNameFor(title, 'html'), 'text/html;charset=utf-8', htmlPage(editor, title))
}
