import { mergeAttributes } from '@tiptap/core'
import Image from '@tiptap/extension-image'

/**
 * Images in the document: only files uploaded to the Tandem server the document lives on
 * (POST /api/rooms/<room>/uploads), referred to by the server-relative path of the upload,
 * `/api/rooms/<room>/uploads/<sha256>`. Nothing else: an image from another host would tell that
 * host who reads the document and when (a tracking pixel), and the editor page's CSP
 * (`img-src 'self' data:`) would not load it anyway; `data:` and `javascript:` are never images.
 * The editor adds the reader's token at render time (apps/editor/src/image-view.ts); the document
 * never holds a credential.
 *
 * One rule for the editor (which inserts only uploads) and the server's content API (which
 * refuses any other image in JSON, and drops it from HTML and Markdown: `checkNode`, below).
 */

/** `encodeURIComponent(room)` (its output alphabet) and a sha256 in lower-case hex. */
const UPLOAD_SRC = /^\/api\/rooms\/[A-Za-z0-9\-_.!~*'()%]{1,1024}\/uploads\/[0-9a-f]{64}$/

export function isSafeImageSrc(src: unknown): src is string {
  return typeof src === 'string' && UPLOAD_SRC.test(src)
}

/** The document's reference to an upload of `room` (what the upload endpoint answers as `url`). */
export function uploadPath(room: string, id: string): string {
  return `/api/rooms/${encodeURIComponent(room)}/uploads/${id}`
}

/** Width presets, in % of the text column: the same share on a phone and a wide screen. */
export const IMAGE_WIDTHS = [25, 50, 75, 100] as const
/** Alt text beyond this is cut (a description, not an essay). */
export const MAX_ALT_CHARS = 1000

/** A width the document may hold: an integer percentage 10-100, or null (the image's own size, at most the column). */
export function isValidImageWidth(width: unknown): width is number | null {
  return width === null || (typeof width === 'number' && Number.isInteger(width) && width >= 10 && width <= 100)
}

const widthFrom = (el: HTMLElement): number | null => {
  const raw = el.getAttribute('data-width') ?? /^\s*(\d{1,3})%\s*$/.exec(el.style.width)?.[1] ?? null
  const n = raw === null ? null : Number(raw)
  return isValidImageWidth(n) ? n : null
}

/**
 * @tiptap/extension-image, inline (an image sits in a paragraph: Markdown's `![alt](src)` is
 * inline, and the paragraph's alignment places it), with three attributes: `src` (an upload),
 * `alt`, `width` (% of the column). HTML and Markdown keep src and alt; HTML keeps the width.
 */
export const DocumentImage = Image.extend({
  addAttributes() {
    return {
      src: {
        default: null,
        parseHTML: (el: HTMLElement) => el.getAttribute('src'),
        renderHTML: (attrs: Record<string, unknown>) => (isSafeImageSrc(attrs.src) ? { src: attrs.src } : {}),
      },
      alt: {
        default: '',
        parseHTML: (el: HTMLElement) => (el.getAttribute('alt') ?? '').slice(0, MAX_ALT_CHARS),
        renderHTML: (attrs: Record<string, unknown>) => ({ alt: typeof attrs.alt === 'string' ? attrs.alt : '' }),
      },
      width: {
        default: null,
        parseHTML: widthFrom,
        renderHTML: (attrs: Record<string, unknown>) =>
          isValidImageWidth(attrs.width) && attrs.width !== null ? { 'data-width': String(attrs.width), style: `width: ${attrs.width}%` } : {},
      },
    }
  },
  parseHTML() {
    // Any other <img> (another host, data:) is not an image of the document: dropped.
    return [{ tag: 'img[src]', getAttrs: (el: HTMLElement) => (isSafeImageSrc(el.getAttribute('src')) ? null : false) }]
  },
  renderHTML({ HTMLAttributes }) {
    return ['img', mergeAttributes(this.options.HTMLAttributes, HTMLAttributes)]
  },
  // `![alt](src)`; another source becomes its alt text (as HTML drops it, Markdown keeps the words).
  parseMarkdown: (token, helpers) => {
    const src = (token as { href?: unknown }).href
    const text = (token as { text?: unknown }).text
    const alt = (typeof text === 'string' ? text : '').slice(0, MAX_ALT_CHARS)
    if (!isSafeImageSrc(src)) return alt ? helpers.createTextNode(alt) : []
    return helpers.createNode('image', { src, alt })
  },
  renderMarkdown: (node) => {
    const attrs = (node.attrs ?? {}) as Record<string, unknown>
    if (!isSafeImageSrc(attrs.src)) return ''
    // Brackets and backslashes in the alt text would end it early.
    const alt = (typeof attrs.alt === 'string' ? attrs.alt : '').replace(/([\\[\]])/g, '\\$1')
    return `![${alt}](${attrs.src})`
  },
}).configure({ inline: true, allowBase64: false })
