import type { Node as PMNode } from '@tiptap/pm/model'
import { isSafeHref, withoutUnsafeLinks } from '@tandem/schema'
import { InvalidContent } from './errors.js'

// The rule lives with the schema, so the editor makes no link the API would refuse.
export { isSafeHref, withoutUnsafeLinks }

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
