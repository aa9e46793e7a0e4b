import { isSafeImageSrc, isValidImageWidth } from './images.js'
import { isValidAlignment } from './alignment.js'

/**
 * Link targets a document may hold: web, mail and phone links, and relative ones. Anything else
 * (`javascript:`, `data:`, `vbscript:` …) runs or loads something where the document is shown,
 * and an app rendering the document's Markdown or JSON would trust it. One rule for the editor
 * (which makes no other link: typed, pasted or autolinked) and the server's content API (which
 * refuses any other link on the way in and unlinks it on the way out).
 */
const SAFE_SCHEME = /^(?:https?|mailto|tel):/i
const SCHEME = /^[a-z][a-z0-9+.-]*:/i

export function isSafeHref(href: unknown): boolean {
  if (typeof href !== 'string') return false
  // Browsers ignore control characters and whitespace inside a scheme (`java\tscript:`).
  // eslint-disable-next-line no-control-regex -- stripping them is the point
  const compact = href.replace(/[\u0000-\u0020\u007f-\u009f]/g, '')
  return !SCHEME.test(compact) || SAFE_SCHEME.test(compact)
}

/** Just enough of Tiptap's JSONContent: the walk needs no more. */
interface JsonNode {
  type?: string
  marks?: Array<{ type: string; attrs?: Record<string, unknown> }>
  content?: JsonNode[]
  [key: string]: unknown
}

/**
 * The document's JSON with links to unsafe targets unlinked (their text stays), and images of
 * anything but an upload of this server (images.ts) left out: what the document serves to apps
 * never points elsewhere, even when a Yjs client wrote it so; attributes out of bounds are reset
 * (`cleanAttrs`). A paragraph's or heading's `textAlign: null` (the default) is left out: JSON
 * reads as it did before alignment existed.
 */
export function withoutUnsafeLinks<T extends JsonNode>(json: T): T {
  const marks = json.marks?.filter((m) => m.type !== 'link' || isSafeHref(m.attrs?.href))
  return {
    ...cleanAttrs(json),
    ...(json.marks ? { marks } : {}),
    ...(json.content ? { content: json.content.filter((n) => n.type !== 'image' || isSafeImageSrc((n.attrs as { src?: unknown } | undefined)?.src)).map(withoutUnsafeLinks) } : {}),
  }
}

/**
 * A node's attributes as the document may hold them: `textAlign` only when left/center/right (a
 * Yjs client could write any string there), an image's width only when valid, its alt a string.
 */
function cleanAttrs<T extends JsonNode>(json: T): T {
  const attrs = json.attrs as Record<string, unknown> | undefined
  if (!attrs) return json
  const clean = { ...attrs }
  if ('textAlign' in clean && (clean.textAlign === null || !isValidAlignment(clean.textAlign))) delete clean.textAlign
  if (json.type === 'image') {
    if (!isValidImageWidth(clean.width)) clean.width = null
    if (typeof clean.alt !== 'string') clean.alt = ''
  }
  const { attrs: _, ...node } = json
  return (Object.keys(clean).length ? { ...node, attrs: clean } : node) as T
}
