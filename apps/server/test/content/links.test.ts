// Links to targets that run or load something where the document is shown (`javascript:`,
// `data:` …) are refused on the way in (400, nothing written) and unlinked on the way out (an app
// rendering our Markdown or JSON trusts us on them; a Yjs client can still write one).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { startServer, type RunningServer } from '../helpers/server.js'
import { isSafeHref } from '../../src/content/links.js'
import { putJson, request, roomPath } from './helpers.js'

let s: RunningServer
beforeAll(async () => {
  s = await startServer({})
})
afterAll(() => s.close())

const linked = (href: string) => ({
  type: 'doc',
  content: [{ type: 'paragraph', content: [{ type: 'text', text: 'click', marks: [{ type: 'link', attrs: { href } }] }] }],
})

describe('link targets', () => {
  it('allows web, mail, phone and relative links; refuses scripts and data, however spelled', () => {
    for (const ok of ['https://example.com', 'http://x.y/p?q#f', 'mailto:a@b.c', 'tel:+1', '/docs', '#part', 'page.html', '?q=1']) expect(isSafeHref(ok), ok).toBe(true)
    for (const bad of ['javascript:alert(1)', 'JavaScript:alert(1)', ' javascript:x', 'java\tscript:x', 'java\u0000script:x', 'data:text/html,x', 'vbscript:x', 'file:///etc/passwd']) expect(isSafeHref(bad), bad).toBe(false)
  })

  it('a write holding an unsafe link is 400 invalid-content, nothing written (JSON, Markdown, HTML)', async () => {
    expect((await putJson(s.url, 'links', linked('https://example.com'))).status).toBe(200)
    const bodies: Array<[string, string]> = [
      ['application/json', JSON.stringify(linked('javascript:alert(1)'))],
      ['text/markdown', '[click](javascript:alert(1))'],
      ['text/html', '<p><a href="javascript:alert(1)">click</a></p>'],
    ]
    for (const [type, body] of bodies) {
      const res = await request(s.url, roomPath('links', '/content'), { method: 'PUT', body, type })
      // HTML and Markdown parsers may drop the link themselves (then the write is harmless text).
      if (res.status === 200) {
        const md = await (await fetch(`${s.url}${roomPath('links', '/content')}?format=markdown`)).text()
        expect(md, type).not.toMatch(/javascript:/i)
        continue
      }
      expect(res.status, type).toBe(400)
      expect(res.json()).toMatchObject({ error: 'invalid-content' })
    }
    const json = await (await fetch(`${s.url}${roomPath('links', '/content')}`)).text()
    expect(json).not.toMatch(/javascript:/i)
  })

  it('a link written by a Yjs client is unlinked in the Markdown and JSON the API serves (its text stays)', async () => {
    const doc = new Y.Doc()
    const p = new Y.XmlElement('paragraph')
    const t = new Y.XmlText()
    t.insert(0, 'click', { link: { href: 'javascript:alert(1)' } })
    p.insert(0, [t])
    doc.getXmlFragment('default').insert(0, [p])
    const res = await fetch(`${s.url}${roomPath('yjs-link', '/updates')}`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: Y.encodeStateAsUpdate(doc) })
    expect(res.status).toBe(200)
    for (const format of ['markdown', 'json']) {
      const out = await (await fetch(`${s.url}${roomPath('yjs-link', '/content')}?format=${format}`)).text()
      expect(out, format).toContain('click')
      expect(out, format).not.toMatch(/javascript:/i)
    }
  })
})
