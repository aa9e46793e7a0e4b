import { InvalidContent } from './errors.js'
import { parse, readDocument, serialize, type Format, type InputFormat } from './formats.js'
import { appendTo, planWrite, replaceWith } from './write.js'
import { docFrom, etagOf } from './ydoc.js'

/**
 * The content API's conversions as plain functions of bytes and strings, so they can run off the
 * event loop (converter.ts runs them in a worker thread): parsing a large Markdown or HTML body,
 * or serializing a large document, takes seconds of CPU that no other room may wait for.
 */

/** Whether an If-None-Match list (or `*`) matches `etag` (weak comparison, as for GET). */
export function matchesAny(tags: '*' | readonly string[] | undefined, etag: string): boolean {
  if (tags === '*') return true
  return tags?.some((t) => t.replace(/^W\//, '') === etag) ?? false
}

export interface ReadResult {
  etag: string
  /** undefined when `ifNoneMatch` matched (nothing to serialize) */
  body: string | undefined
}

/** The document held by `state`, in `format`, and its entity tag. */
export function readContent(state: Uint8Array, format: Format, notIf: (etag: string) => boolean): ReadResult {
  const doc = docFrom(state)
  try {
    const etag = etagOf(doc)
    return { etag, body: notIf(etag) ? undefined : serialize(readDocument(doc), format) }
  } finally {
    doc.destroy()
  }
}

export type PlanResult =
  | { invalid: string }
  | { invalid?: undefined; wasEmpty: boolean; etagBefore: string; etagAfter: string; update: Uint8Array | undefined }

/** `body` (in `format`) checked against the schema, and the update that writes it into `state`. */
export function planContent(state: Uint8Array, body: string, format: InputFormat, mode: 'replace' | 'append'): PlanResult {
  let content
  try {
    content = parse(body, format)
  } catch (err) {
    if (err instanceof InvalidContent) return { invalid: err.message }
    throw err
  }
  const plan = planWrite(state, mode === 'replace' ? replaceWith(content) : appendTo(content))
  return { wasEmpty: plan.wasEmpty, etagBefore: plan.etagBefore, etagAfter: plan.etagAfter, update: plan.update }
}

/**
 * The update that makes the document held by `state` the one held by `version` (a restore of
 * version history): the same diff as a replacing write (write.ts), so blocks that did not change
 * are kept and the rest is deleted and inserted, as a change of its own on top of the live state.
 */
export function planRestore(state: Uint8Array, version: Uint8Array): PlanResult {
  const old = docFrom(version)
  let content
  try {
    content = readDocument(old, false)
  } finally {
    old.destroy()
  }
  const plan = planWrite(state, replaceWith(content))
  return { wasEmpty: plan.wasEmpty, etagBefore: plan.etagBefore, etagAfter: plan.etagAfter, update: plan.update }
}
