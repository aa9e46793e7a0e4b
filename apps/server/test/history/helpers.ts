import * as Y from 'yjs'
import { DOCUMENT_FIELD } from '@tandem/schema'
import { request, roomPath } from '../content/helpers.js'

/** Test helpers for version history: documents, the versions API, an editor-like Yjs edit. */

export interface VersionJson {
  id: number
  time: string
  name: string | null
  kind: string
  authors: Array<{ id?: string; name?: string }>
  size: number
}

export const paragraphs = (...texts: string[]) => ({
  type: 'doc',
  content: texts.map((t) => ({ type: 'paragraph', content: [{ type: 'text', text: t }] })),
})

export async function listVersions(base: string, room: string, query = '', headers: Record<string, string> = {}): Promise<{ versions: VersionJson[]; next: string | null }> {
  const res = await request(base, roomPath(room, `/versions${query}`), { headers })
  if (res.status !== 200) throw new Error(`GET versions: ${res.status} ${res.text}`)
  return res.json()
}

export const nameVersion = (base: string, room: string, name: unknown, headers: Record<string, string> = {}) =>
  request(base, roomPath(room, '/versions'), { method: 'POST', body: JSON.stringify({ name }), type: 'application/json', headers })

export const restore = (base: string, room: string, id: number, headers: Record<string, string> = {}) =>
  request(base, roomPath(room, `/versions/${id}/restore`), { method: 'POST', headers })

export async function versionText(base: string, room: string, id: number): Promise<string> {
  const res = await request(base, roomPath(room, `/versions/${id}/content?format=text`))
  if (res.status !== 200) throw new Error(`GET version content: ${res.status} ${res.text}`)
  return res.text
}

export async function liveText(base: string, room: string): Promise<string> {
  const res = await request(base, roomPath(room, '/content?format=text'))
  if (res.status !== 200) throw new Error(`GET content: ${res.status} ${res.text}`)
  return res.text
}

/** Appends a paragraph holding `text` to the document as an editor would (y-prosemirror's layout). */
export function typeParagraph(doc: Y.Doc, text: string): void {
  doc.transact(() => {
    const p = new Y.XmlElement('paragraph')
    p.insert(0, [new Y.XmlText(text)])
    const f = doc.getXmlFragment(DOCUMENT_FIELD)
    f.insert(f.length, [p])
  })
}

/** The document's text as a Yjs client holds it: paragraphs joined by blank lines (format=text). */
export function docText(doc: Y.Doc): string {
  return doc
    .getXmlFragment(DOCUMENT_FIELD)
    .toArray()
    .map((n) => (n instanceof Y.XmlElement ? n.toArray().map((t) => (t instanceof Y.XmlText ? String(t.toString()) : '')).join('') : ''))
    .join('\n\n')
}
