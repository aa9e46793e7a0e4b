import { getText, type JSONContent } from '@tiptap/core'
import { Node as PMNode } from '@tiptap/pm/model'
import { generateHTML, generateJSON } from '@tiptap/html/server'
import { yXmlFragmentToProseMirrorRootNode } from '@tiptap/y-tiptap'
import { DOCUMENT_FIELD } from '@tandem/schema'
import type * as Y from 'yjs'
import { documentSchema } from './schema.js'
import { InvalidContent } from './errors.js'
import { checkLinks, withoutUnsafeLinks } from './links.js'

/**
 * The document in the formats the content API speaks, both ways. The Yjs side is y-prosemirror's
 * (Tiptap's fork, the one the editor's Collaboration extension runs), so the server reads and
 * writes the XmlFragment exactly as a live editor does; ProseMirror JSON, HTML and Markdown come
 * from Tiptap's tooling over the same schema:
 *
 *   json      Node.toJSON / Node.fromJSON + check (prosemirror-model)
 *   html      @tiptap/html's server entry: the schema's DOMSerializer/DOMParser over a happy-dom
 *             document with script, CSS, iframe loading and JavaScript turned off
 *   markdown  @tiptap/markdown: CommonMark (marked) plus the editor's marks (~~strike~~, ++underline++)
 *   text      Tiptap's getText: blocks separated by a blank line, hard breaks as newlines (read only)
 */
export type { Format, InputFormat } from './format-names.js'
import type { Format, InputFormat } from './format-names.js'

/**
 * The document held by `doc`'s XmlFragment `default`, as a ProseMirror node. What the schema
 * cannot hold (a node written by some other Yjs client) is left out, as the editor leaves it out
 * (y-prosemirror deletes it from the fragment it reads: `doc` should be a throwaway copy). With
 * `fill`, an empty fragment reads as what the editor shows for it, one empty paragraph (a valid
 * document, which the bare empty node is not); a write leaves it out, or it would store it.
 */
export function readDocument(doc: Y.Doc, fill = true): PMNode {
  const { schema } = documentSchema()
  const node = yXmlFragmentToProseMirrorRootNode(doc.getXmlFragment(DOCUMENT_FIELD), schema)
  return node.childCount > 0 || !fill ? node : (schema.topNodeType.createAndFill() ?? node)
}

/** Nothing but what an editor shows for an empty document (no block, or one empty paragraph). */
export function isEmptyDocument(node: PMNode): boolean {
  if (node.childCount === 0) return true
  if (node.childCount > 1) return false
  const only = node.firstChild!
  return only.type === documentSchema().schema.nodes.paragraph && only.childCount === 0
}

export function serialize(node: PMNode, format: Format): string {
  const { extensions, markdown, textSerializers } = documentSchema()
  switch (format) {
    case 'json':
      return JSON.stringify(withoutUnsafeLinks(node.toJSON() as JSONContent))
    case 'markdown':
      return markdown.serialize(withoutUnsafeLinks(node.toJSON() as JSONContent))
    case 'html':
      return generateHTML(node.toJSON() as JSONContent, extensions)
    case 'text':
      return getText(node, { blockSeparator: '\n\n', textSerializers })
  }
}

/**
 * A document sent in `format`, as a node of the schema. JSON must match the schema exactly (an
 * unknown node or mark, or content a node does not allow, is InvalidContent); HTML and Markdown
 * are parsed INTO the schema, as the editor parses a paste: what it has no node for is kept as
 * text or dropped (a <script> is dropped, raw HTML in Markdown is text).
 */
export function parse(body: string, format: InputFormat): PMNode {
  const { extensions, markdown } = documentSchema()
  let json: unknown
  switch (format) {
    case 'json':
      try {
        json = JSON.parse(body)
      } catch (err) {
        throw new InvalidContent(`not JSON: ${(err as Error).message}`)
      }
      break
    case 'markdown':
      json = markdown.parse(body)
      break
    case 'html':
      json = generateJSON(body, extensions)
      break
  }
  return fromJSON(json)
}

function fromJSON(json: unknown): PMNode {
  const { schema } = documentSchema()
  if (typeof json !== 'object' || json === null || (json as { type?: unknown }).type !== schema.topNodeType.name) {
    throw new InvalidContent(`expected a ProseMirror document: {"type":"${schema.topNodeType.name}","content":[…]}`)
  }
  let node: PMNode
  try {
    node = PMNode.fromJSON(schema, json)
    node.check() // content expressions and allowed marks, which fromJSON does not check
  } catch (err) {
    // prosemirror-model's messages name the unknown type or the content that does not fit.
    throw new InvalidContent((err as Error).message)
  }
  checkLinks(node)
  return node
}
