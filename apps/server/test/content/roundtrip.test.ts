import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Node as PMNode } from '@tiptap/pm/model'
import type { JSONContent } from '@tiptap/core'
import { prosemirrorToYXmlFragment, yXmlFragmentToProseMirrorRootNode } from '@tiptap/y-tiptap'
import { startServer, type RunningServer } from '../helpers/server.js'
import { synced, yws } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { documentSchema } from '../../src/content/schema.js'
import { everything, everythingHtml, getJson, putJson, request, roomPath, sameDocument, typesUsed } from './helpers.js'

/**
 * The content API's formats against a real server (PORT=0, SQLite): ProseMirror JSON ↔ the Yjs
 * XmlFragment `default` ↔ Markdown / HTML, for a document holding every node and mark the
 * editor offers.
 */

let s: RunningServer
const cleanup: Array<() => void> = []
beforeAll(async () => {
  s = await startServer()
})
afterAll(async () => {
  for (const c of cleanup) c()
  await s.close()
})

const { schema } = documentSchema()

describe('content round trips', () => {
  it('the fixture uses every node and mark of the editor schema', () => {
    const used = typesUsed(everything)
    expect([...used.nodes].sort()).toEqual(Object.keys(schema.nodes).sort())
    expect([...used.marks].sort()).toEqual(Object.keys(schema.marks).sort())
  })

  it('JSON → Yjs → JSON: a PUT is what GET returns, and what a Yjs client finds in the XmlFragment "default"', async () => {
    const put = await putJson(s.url, 'rt-json', everything)
    expect(put.status).toBe(200)
    expect(put.json()).toEqual({ room: 'rt-json', changed: true })
    expect(sameDocument(await getJson(s.url, 'rt-json'), everything)).toBe(true)

    const c = yws(s.wsUrl, 'rt-json')
    cleanup.push(c.destroy)
    await synced(c.provider)
    const read = yXmlFragmentToProseMirrorRootNode(c.doc.getXmlFragment('default'), schema)
    expect(read.eq(PMNode.fromJSON(schema, everything))).toBe(true)
  })

  it('Yjs → JSON: what an editor writes into the fragment (y-prosemirror) is what GET returns', async () => {
    const c = yws(s.wsUrl, 'rt-yjs')
    cleanup.push(c.destroy)
    await synced(c.provider)
    prosemirrorToYXmlFragment(PMNode.fromJSON(schema, everythingHtml), c.doc.getXmlFragment('default'))
    await until(async () => sameDocument(await getJson(s.url, 'rt-yjs'), everythingHtml), 'the client edit over GET')
  })

  it('Markdown: GET as Markdown, PUT that into another room: the same document', async () => {
    await putJson(s.url, 'rt-md', everything)
    const res = await request(s.url, roomPath('rt-md', '/content?format=markdown'))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/markdown; charset=utf-8')
    const md = res.text
    // CommonMark for what it has, and the editor's own marks.
    for (const piece of ['# Title', '**bold**', '*italic*', '~~strike~~', '`code`', '++underline++', '[a link](https://example.com/a?b=c "Example")', '- one', '3. three', '> quoted', '```ts', '---', '\\*not emphasis\\*']) {
      expect(md, piece).toContain(piece)
    }
    // GitHub Flavored Markdown's task lists and tables, and ==highlight==.
    for (const piece of ['==marked==', '- [x] done\n- [ ] to do\n  - [ ] sub-task', '| Name | Role     |\n| ---- | -------- |\n| Ada  | **code** |']) {
      expect(md, piece).toContain(piece)
    }
    const back = await request(s.url, roomPath('rt-md2', '/content'), { method: 'PUT', body: md, type: 'text/markdown' })
    expect(back.status).toBe(200)
    expect(sameDocument(await getJson(s.url, 'rt-md2'), everything)).toBe(true)
  })

  it('HTML: GET as HTML, PUT that into another room: the same document, every attribute kept', async () => {
    await putJson(s.url, 'rt-html', everythingHtml)
    const res = await request(s.url, roomPath('rt-html', '/content?format=html'))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    for (const piece of ['<h1>Title</h1>', '<strong>bold</strong>', '<s>strike</s>', '<u>underline</u>', 'href="https://example.com/a?b=c"', 'target="_self"', '<ol start="3">', '<hr>', '&lt;not html&gt;', '<mark>marked</mark>', '<ul data-type="taskList"><li data-checked="true" data-type="taskItem">', '<input type="checkbox" checked="checked">', '<th colspan="1" rowspan="1"><p>Name</p></th>', '<td colspan="1" rowspan="1"><p>Ada</p></td>']) {
      expect(res.text, piece).toContain(piece)
    }
    const back = await request(s.url, roomPath('rt-html2', '/content'), { method: 'PUT', body: res.text, type: 'text/html' })
    expect(back.status).toBe(200)
    expect(sameDocument(await getJson(s.url, 'rt-html2'), everythingHtml)).toBe(true)
  })

  it('hand-written GitHub Markdown: task lists, a table, highlight become their nodes and marks', async () => {
    const md = '- [ ] buy milk\n- [x] call Bob\n\n|a|b|\n|---|---|\n|1|==2==|\n'
    expect((await request(s.url, roomPath('rt-gfm', '/content'), { method: 'PUT', body: md, type: 'text/markdown' })).status).toBe(200)
    const item = (checked: boolean, text: string) => ({ type: 'taskItem', attrs: { checked }, content: [{ type: 'paragraph', content: [{ type: 'text', text }] }] })
    const cell = (type: string, ...content: JSONContent[]) => ({ type, content: [{ type: 'paragraph', content }] })
    const expected = {
      type: 'doc',
      content: [
        { type: 'taskList', content: [item(false, 'buy milk'), item(true, 'call Bob')] },
        {
          type: 'table',
          content: [
            { type: 'tableRow', content: [cell('tableHeader', { type: 'text', text: 'a' }), cell('tableHeader', { type: 'text', text: 'b' })] },
            { type: 'tableRow', content: [cell('tableCell', { type: 'text', text: '1' }), cell('tableCell', { type: 'text', text: '2', marks: [{ type: 'highlight' }] })] },
          ],
        },
      ],
    }
    expect(sameDocument(await getJson(s.url, 'rt-gfm'), expected)).toBe(true)
  })

  it('plain text: the text of the blocks, a blank line between them', async () => {
    await putJson(s.url, 'rt-text', { type: 'doc', content: [{ type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'Head' }] }, { type: 'paragraph', content: [{ type: 'text', text: 'a', marks: [{ type: 'bold' }] }, { type: 'hardBreak' }, { type: 'text', text: 'b' }] }] })
    const res = await request(s.url, roomPath('rt-text', '/content?format=text'))
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(res.text).toBe('Head\n\na\nb')
  })

  it('a room with nothing stored reads as the empty editor document', async () => {
    expect(await getJson(s.url, 'rt-empty')).toEqual({ type: 'doc', content: [{ type: 'paragraph' }] })
    expect((await request(s.url, roomPath('rt-empty', '/content?format=markdown'))).text).toBe('')
    expect((await request(s.url, roomPath('rt-empty', '/content?format=nope'))).status).toBe(400)
  })

  it('HTML and Markdown are parsed into the schema: no script survives, raw HTML in Markdown is text', async () => {
    const html = '<p>ok<script>alert(1)</script><img src="x" onerror="alert(2)"><foo>kept</foo></p>'
    expect((await request(s.url, roomPath('rt-hostile', '/content'), { method: 'PUT', body: html, type: 'text/html' })).status).toBe(200)
    expect(await getJson(s.url, 'rt-hostile')).toEqual({ type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'okkept' }] }] })
    const md = 'a <script>alert(1)</script>'
    expect((await request(s.url, roomPath('rt-hostile', '/content'), { method: 'PUT', body: md, type: 'text/markdown' })).status).toBe(200)
    const out = await request(s.url, roomPath('rt-hostile', '/content?format=html'))
    expect(out.text).toBe('<p>a &lt;script&gt;alert(1)&lt;/script&gt;</p>')
  })
})
