import type { JSONContent } from '@tiptap/core'
import type { Node as PMNode } from '@tiptap/pm/model'
import { InvalidContent } from './errors.js'

/**
 * Link targets a document may hold: web, mail and phone links, and relative ones. Anything else
 * (`javascript:`, `data:`, `vbscript:` …) runs or loads something where the document is shown,
 * and an app rendering our Markdown or JSON would trust us on it.
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

/** Refuses (InvalidContent) a document with a link to an unsafe target. */
export function checkLinks(doc: PMNode): void {
  doc.descendants((node) => {
    for (const mark of node.marks) {
      if (mark.type.name === 'link' && !isSafeHref(mark.attrs.href)) {
        throw new InvalidContent(`a link to ${JSON.stringify(String(mark.attrs.href).slice(0, 80))} is not allowed (http, https, mailto, tel or relative only)`)
      }
    }
  })
}

/** The document's JSON with links to unsafe targets unlinked (their text stays): for output. */
export function withoutUnsafeLinks(json: JSONContent): JSONContent {
  const marks = json.marks?.filter((m) => m.type !== 'link' || isSafeHref(m.attrs?.href))
  return {
    ...json,
    ...(json.marks ? { marks } : {}),
    ...(json.content ? { content: json.content.map(withoutUnsafeLinks) } : {}),
  }
}
