// Images and alignment through the content API: only uploads of this server are images (an image
// from elsewhere is refused in JSON, dropped from HTML, its alt text kept from Markdown), attribute
// values are bounded on the way in (400) and on the way out (what a Yjs client wrote anyway).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { startServer, type RunningServer } from '../helpers/server.js'
import { getJson, putJson, request, roomPath } from './helpers.js'

let s: RunningServer
beforeAll(async () => {
  s = await startServer({})
})
afterAll(() => s.close())

const UPLOAD = `/api/rooms/pics/uploads/${'c0'.repeat(32)}`
const withImage = (attrs: Record<string, unknown>, paragraph: Record<string, unknown> = {}) => ({
  type: 'doc',
  content: [{ type: 'paragraph', attrs: paragraph, content: [{ type: 'text', text: 'see ' }, { type: 'image', attrs }] }],
})

describe('images and alignment in the content API', () => {
  it('JSON: an upload with alt and width is kept; other sources, bad widths and alignments are 400, nothing written', async () => {
    expect((await putJson(s.url, 'img-json', withImage({ src: UPLOAD, alt: 'a chart', width: 75 }, { textAlign: 'center' }))).status).toBe(200)
    const kept = withImage({ src: UPLOAD, alt: 'a chart', width: 75 }, { textAlign: 'center' })
    expect(await getJson(s.url, 'img-json')).toEqual(kept)
    const refused: Array<[Record<string, unknown>, Record<string, unknown>]> = [
      [{ src: 'https://tracker.example/p.gif', alt: '' }, {}],
      [{ src: '//tracker.example/p.gif', alt: '' }, {}],
      [{ src: 'data:image/png;base64,iVBORw0KGgo=', alt: '' }, {}],
      [{ src: 'javascript:alert(1)', alt: '' }, {}],
      [{ src: `${UPLOAD}?x=1`, alt: '' }, {}],
      [{ src: '/api/rooms/pics/uploads/../../state', alt: '' }, {}],
      [{ src: UPLOAD, alt: '', width: 5 }, {}],
      [{ src: UPLOAD, alt: '', width: '50%; background: url(https://x)' }, {}],
      [{ src: UPLOAD, alt: 'x'.repeat(1001) }, {}],
      [{ src: UPLOAD, alt: '' }, { textAlign: 'left; background: url(https://tracker.example/)' }],
      [{ src: UPLOAD, alt: '' }, { textAlign: 'justify' }],
    ]
    for (const [image, paragraph] of refused) {
      const res = await putJson(s.url, 'img-json', withImage(image, paragraph))
      expect(res.status, JSON.stringify([image, paragraph])).toBe(400)
      expect(res.json()).toMatchObject({ error: 'invalid-content' })
    }
    expect(await getJson(s.url, 'img-json')).toEqual(kept)
  })

  it('HTML: an upload keeps src, alt, width and alignment; other images are dropped', async () => {
    const html = `<p style="text-align: right">x <img src="${UPLOAD}" alt="kept" style="width: 25%"><img src="https://tracker.example/p.gif" alt="gone"><img src="data:image/png;base64,AAAA"></p>`
    expect((await request(s.url, roomPath('img-html', '/content'), { method: 'PUT', body: html, type: 'text/html' })).status).toBe(200)
    expect(await getJson(s.url, 'img-html')).toEqual({
      type: 'doc',
      content: [{ type: 'paragraph', attrs: { textAlign: 'right' }, content: [{ type: 'text', text: 'x ' }, { type: 'image', attrs: { src: UPLOAD, alt: 'kept', width: 25 } }] }],
    })
    const out = (await request(s.url, roomPath('img-html', '/content?format=html'))).text
    expect(out).toBe(`<p style="text-align: right;">x <img src="${UPLOAD}" alt="kept" data-width="25" style="width: 25%;"></p>`)
  })

  it('Markdown: ![alt](upload) is an image; an image from elsewhere becomes its alt text; alt brackets survive a round trip', async () => {
    const md = `![a [bracketed] chart](${UPLOAD}) and ![tracker](https://tracker.example/p.gif)`
    expect((await request(s.url, roomPath('img-md', '/content'), { method: 'PUT', body: md, type: 'text/markdown' })).status).toBe(200)
    const json = await getJson(s.url, 'img-md')
    expect(json).toEqual({
      type: 'doc',
      content: [{ type: 'paragraph', content: [{ type: 'image', attrs: { src: UPLOAD, alt: 'a [bracketed] chart', width: null } }, { type: 'text', text: ' and tracker' }] }],
    })
    const back = (await request(s.url, roomPath('img-md', '/content?format=markdown'))).text
    expect((await request(s.url, roomPath('img-md2', '/content'), { method: 'PUT', body: back, type: 'text/markdown' })).status).toBe(200)
    expect(await getJson(s.url, 'img-md2')).toEqual(json)
  })

  it('what a Yjs client writes anyway (a foreign image, a style in textAlign, a bad width) never reaches the JSON, HTML or Markdown served', async () => {
    const doc = new Y.Doc()
    const p = new Y.XmlElement('paragraph')
    p.setAttribute('textAlign', 'left; background: url(https://tracker.example/a)')
    const foreign = new Y.XmlElement('image')
    foreign.setAttribute('src', 'https://tracker.example/b.gif')
    const ours = new Y.XmlElement('image')
    ours.setAttribute('src', UPLOAD)
    ours.setAttribute('width', '100%; background: url(https://tracker.example/c)')
    p.insert(0, [foreign, ours])
    doc.getXmlFragment('default').insert(0, [p])
    const res = await fetch(`${s.url}${roomPath('img-yjs', '/updates')}`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: Y.encodeStateAsUpdate(doc) })
    expect(res.status).toBe(200)
    for (const format of ['json', 'html', 'markdown']) {
      const out = (await request(s.url, roomPath('img-yjs', `/content?format=${format}`))).text
      expect(out, format).not.toContain('tracker')
      expect(out, format).toContain(UPLOAD)
    }
  })
})
