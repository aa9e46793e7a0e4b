import type { Node as PMNode } from '@tiptap/pm/model'
import { checkNode, isSafeHref, withoutUnsafeLinks } from '@tandem/schema'
import { InvalidContent } from './errors.js'

// The rule lives with the schema, so the editor makes no link the API would refuse.
export { isSafeHref, withoutUnsafeLinks }

/**
 * Refuses (InvalidContent) a document with a link to an unsafe target, or attributes the schema
 * does not allow (an image that is not an upload of this server, a bad width or alignment:
 * @tandem/schema checkNode).
 */
export function checkLinks(doc: PMNode): void {
  doc.descendants((node) => {
    const bad = checkNode(node)
    if (bad !== undefined) throw new InvalidContent(bad)
    for (const mark of node.marks) {
      if (mark.type.name === 'link' && !isSafeHref(mark.attrs.href)) {
        throw new InvalidContent(`a link to ${JSON.stringify(String(mark.attrs.href).slice(0, 80))} is not allowed (http, https, mailto, tel or relative only)`)
      }
    }
  })
}
