import { Node as PMNode } from '@tiptap/pm/model'
import type { JSONContent } from '@tiptap/core'
import { documentSchema } from '../../src/content/schema.js'

/** Test helpers for the content API: requests, and a document holding every node and mark the editor offers. */

export const roomPath = (room: string, rest = '') => `/api/rooms/${encodeURIComponent(room)}${rest}`

export async function request(
  base: string,
  path: string,
  init: { method?: string; body?: string | Uint8Array; type?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; text: string; json: <T = Record<string, unknown>>() => T }> {
  const headers: Record<string, string> = { ...init.headers }
  if (init.type) headers['content-type'] = init.type
  const res = await fetch(base + path, { method: init.method ?? 'GET', body: init.body, headers })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, json: <T>() => JSON.parse(text) as T }
}

export const putJson = (base: string, room: string, doc: unknown, headers: Record<string, string> = {}) =>
  request(base, roomPath(room, '/content'), { method: 'PUT', body: JSON.stringify(doc), type: 'application/json', headers })

export async function getJson(base: string, room: string): Promise<JSONContent> {
  const res = await request(base, roomPath(room, '/content'))
  if (res.status !== 200) throw new Error(`GET content: ${res.status} ${res.text}`)
  return res.json<JSONContent>()
}

/** Equal as documents of the schema (mark order, omitted default attributes and empty content do not count). */
export function sameDocument(a: unknown, b: unknown): boolean {
  const { schema } = documentSchema()
  return PMNode.fromJSON(schema, a).eq(PMNode.fromJSON(schema, b))
}

const t = (text: string, ...marks: JSONContent['marks'] & object) => (marks.length ? { type: 'text', text, marks } : { type: 'text', text })
const p = (...content: JSONContent[]) => ({ type: 'paragraph', content })

/**
 * Every node and every mark of the schema (the test checks that it stays so), with attributes
 * Markdown can carry (a link's target, rel and class are HTML-only: `everythingHtml` sets them).
 */
export const everything: JSONContent = {
  type: 'doc',
  content: [
    { type: 'heading', attrs: { level: 1 }, content: [t('Title')] },
    { type: 'heading', attrs: { level: 3 }, content: [t('Sub '), t('title', { type: 'italic' })] },
    p(
      t('plain '),
      t('bold', { type: 'bold' }),
      t(' '),
      t('italic', { type: 'italic' }),
      t(' '),
      t('strike', { type: 'strike' }),
      t(' '),
      t('code', { type: 'code' }),
      t(' '),
      t('underline', { type: 'underline' }),
      t(' '),
      t('both', { type: 'bold' }, { type: 'italic' }),
      t(' '),
      t('a link', { type: 'link', attrs: { href: 'https://example.com/a?b=c', title: 'Example' } }),
      t(' '),
      t('marked', { type: 'highlight' }),
      { type: 'hardBreak' },
      t('after a break'),
    ),
    { type: 'paragraph' },
    {
      type: 'bulletList',
      content: [
        { type: 'listItem', content: [p(t('one'))] },
        {
          type: 'listItem',
          content: [p(t('two')), { type: 'orderedList', attrs: { start: 1 }, content: [{ type: 'listItem', content: [p(t('nested'))] }] }],
        },
      ],
    },
    { type: 'orderedList', attrs: { start: 3 }, content: [{ type: 'listItem', content: [p(t('three'))] }, { type: 'listItem', content: [p(t('four'))] }] },
    { type: 'blockquote', content: [p(t('quoted')), { type: 'bulletList', content: [{ type: 'listItem', content: [p(t('in a quote'))] }] }] },
    { type: 'codeBlock', attrs: { language: 'ts' }, content: [t('const x = 1\n\nconst y = "<b>"')] },
    { type: 'codeBlock', attrs: { language: null }, content: [t('plain code')] },
    { type: 'horizontalRule' },
    {
      type: 'taskList',
      content: [
        { type: 'taskItem', attrs: { checked: true }, content: [p(t('done'))] },
        { type: 'taskItem', attrs: { checked: false }, content: [p(t('to do')), { type: 'taskList', content: [{ type: 'taskItem', attrs: { checked: false }, content: [p(t('sub-task'))] }] }] },
      ],
    },
    {
      type: 'table',
      content: [
        { type: 'tableRow', content: [{ type: 'tableHeader', content: [p(t('Name'))] }, { type: 'tableHeader', content: [p(t('Role'))] }] },
        { type: 'tableRow', content: [{ type: 'tableCell', content: [p(t('Ada'))] }, { type: 'tableCell', content: [p(t('code', { type: 'bold' }))] }] },
      ],
    },
    p(t('Special characters: *not emphasis*, <not html>, & # [x]')),
    p(t('A picture: '), { type: 'image', attrs: { src: `/api/rooms/pictures/uploads/${'ab'.repeat(32)}`, alt: 'a [red] square' } }),
  ],
}

/** `everything` with the attributes only HTML carries (a link's target…, an image's width, alignment). */
export const everythingHtml = JSON.parse(
  JSON.stringify(everything)
    .replace('"title":"Example"', '"title":"Example","target":"_self","rel":"noopener","class":"external"')
    .replace('"alt":"a [red] square"', '"alt":"a [red] square","width":50')
    .replace('{"type":"heading","attrs":{"level":3}', '{"type":"heading","attrs":{"level":3,"textAlign":"center"}')
    .replace('{"type":"paragraph","content":[{"type":"text","text":"A picture: "}', '{"type":"paragraph","attrs":{"textAlign":"right"},"content":[{"type":"text","text":"A picture: "}'),
) as JSONContent

/** The node and mark types a document uses. */
export function typesUsed(doc: JSONContent, nodes = new Set<string>(), marks = new Set<string>()): { nodes: Set<string>; marks: Set<string> } {
  if (doc.type) nodes.add(doc.type)
  for (const m of doc.marks ?? []) marks.add(m.type)
  for (const c of doc.content ?? []) typesUsed(c, nodes, marks)
  return { nodes, marks }
}
