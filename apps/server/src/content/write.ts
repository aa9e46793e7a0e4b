import * as Y from 'yjs'
import { Fragment, type Node as PMNode } from '@tiptap/pm/model'
import { prosemirrorToYXmlFragment } from '@tiptap/y-tiptap'
import { DOCUMENT_FIELD } from '@tandem/schema'
import { isEmptyDocument, readDocument } from './formats.js'
import { docFrom, etagOf } from './ydoc.js'
import { documentSchema } from './schema.js'

export interface PlannedWrite {
  /** the document before the write, and its tag */
  before: PMNode
  etagBefore: string
  wasEmpty: boolean
  /** the Yjs update that makes it `after`; undefined when it already is */
  update: Uint8Array | undefined
  etagAfter: string
}

/**
 * The Yjs update that turns the document held by `state` into `target(current)`: computed on a
 * throwaway copy by y-prosemirror's `updateYFragment` (via prosemirrorToYXmlFragment), the same
 * diff a live editor's binding sends for a change, so blocks that stay are kept (and so are the
 * carets in them) and only what differs is deleted and inserted, under a fresh Yjs client id.
 */
export function planWrite(state: Uint8Array, target: (current: PMNode) => PMNode): PlannedWrite {
  const doc = docFrom(state)
  try {
    const etagBefore = etagOf(doc)
    const changes: Uint8Array[] = []
    // From here on: reading may delete what the schema cannot hold, as an editor opening it would.
    doc.on('update', (u: Uint8Array) => changes.push(u))
    const before = readDocument(doc, false)
    const next = target(before)
    doc.transact(() => prosemirrorToYXmlFragment(next, doc.getXmlFragment(DOCUMENT_FIELD)))
    const update = changes.length === 0 ? undefined : changes.length === 1 ? changes[0]! : Y.mergeUpdates(changes)
    return { before, etagBefore, wasEmpty: isEmptyDocument(before), update, etagAfter: etagOf(doc) }
  } finally {
    doc.destroy()
  }
}

/** `content` in place of the document. */
export const replaceWith = (content: PMNode) => (): PMNode => content

/** The document with `content`'s blocks after its own. */
export const appendTo =
  (content: PMNode) =>
  (current: PMNode): PMNode =>
    documentSchema().schema.topNodeType.create(current.attrs, Fragment.from(current.content).append(content.content))
