import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { Node as PMNode } from '@tiptap/pm/model'
import { yXmlFragmentToProseMirrorRootNode } from '@tiptap/y-tiptap'
import { SyncProvider } from '@tandem/sync/provider'
import { startServer, type RunningServer } from '../helpers/server.js'
import { until } from '../helpers/wait.js'
import { createSqliteStore, type SqliteStore } from '../../src/store/sqlite.js'
import { documentSchema } from '../../src/content/schema.js'
import { getJson, putJson, request, roomPath, sameDocument } from './helpers.js'

/**
 * Writes over HTTP go through the update path (real server on PORT=0, real SQLite): a live
 * client sees them, the answer comes once they are stored, the schema and the limits refuse what
 * a client's edit would be refused for, and preconditions hold.
 */

let s: RunningServer
/** A second connection to the server's SQLite file: what is stored, read independently. */
let stored: SqliteStore
const cleanup: Array<() => void> = []
beforeAll(async () => {
  s = await startServer({ MAX_PAYLOAD_BYTES: '4096', MAX_DOC_STRUCTS: '200' })
  stored = createSqliteStore({ dataDir: s.dataDir, synchronous: 'NORMAL', checkpointIntervalMs: 0 })
})
afterAll(async () => {
  for (const c of cleanup) c()
  await stored.close()
  await s.close()
})

const { schema } = documentSchema()
const doc = (...texts: string[]) => ({ type: 'doc', content: texts.map((text) => ({ type: 'paragraph', content: [{ type: 'text', text }] })) })
const rows = async (room: string) => (await stored.load(room)).updates.length

function client(room: string) {
  const ydoc = new Y.Doc()
  const provider = new SyncProvider({ url: s.wsUrl, room, doc: ydoc, WebSocket, initialBackoffMs: 20, maxBackoffMs: 200 })
  cleanup.push(() => provider.destroy())
  const content = () => yXmlFragmentToProseMirrorRootNode(ydoc.getXmlFragment('default'), schema)
  return { ydoc, provider, content }
}

describe('content writes', () => {
  it('a PUT reaches a live SyncProvider client, and is stored when the answer comes', async () => {
    const c = client('w-live')
    await until(() => c.provider.synced, 'synced')
    const res = await putJson(s.url, 'w-live', doc('from the API'))
    expect(res.status).toBe(200)
    // Stored before the answer: the row is in the file, read over another connection.
    expect(await rows('w-live')).toBe(1)
    await until(() => c.content().eq(PMNode.fromJSON(schema, doc('from the API'))), 'the client has the PUT')

    // The client edits on top; the API's next write sees it (replace = what differs).
    c.ydoc.getXmlFragment('default').insert(1, [new Y.XmlElement('paragraph')])
    await until(async () => (await getJson(s.url, 'w-live')).content?.length === 2, 'the client edit stored')
    await putJson(s.url, 'w-live', doc('from the API', 'replaced'))
    await until(() => c.content().eq(PMNode.fromJSON(schema, doc('from the API', 'replaced'))), 'the client has the replacement')
  })

  it('POST appends at the end; PUT of the same content changes nothing', async () => {
    await putJson(s.url, 'w-append', doc('one'))
    const post = await request(s.url, roomPath('w-append', '/content'), { method: 'POST', body: '## two\n\nthree', type: 'text/markdown' })
    expect(post.status).toBe(200)
    expect(sameDocument(await getJson(s.url, 'w-append'), {
      type: 'doc',
      content: [doc('one').content[0], { type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'two' }] }, doc('three').content[0]],
    })).toBe(true)
    const before = await rows('w-append')
    const same = await putJson(s.url, 'w-append', await getJson(s.url, 'w-append'))
    expect(same.json()).toEqual({ room: 'w-append', changed: false })
    expect(await rows('w-append')).toBe(before)
  })

  it('content the schema does not allow is a 400 naming it, and nothing is applied', async () => {
    await putJson(s.url, 'w-bad', doc('kept'))
    const etag = (await request(s.url, roomPath('w-bad', '/content'))).headers.get('etag')
    const before = await rows('w-bad')
    const cases: Array<[unknown, RegExp]> = [
      [{ type: 'doc', content: [{ type: 'image', attrs: { src: 'x' } }] }, /image/],
      [{ type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'x', marks: [{ type: 'subscript' }] }] }] }, /subscript/],
      [{ type: 'doc', content: [{ type: 'listItem', content: [{ type: 'paragraph' }] }] }, /content/i],
      [{ type: 'doc', content: [{ type: 'codeBlock', content: [{ type: 'text', text: 'x', marks: [{ type: 'bold' }] }] }] }, /codeBlock/],
      [{ type: 'paragraph' }, /document/],
      [[], /document/],
    ]
    for (const [body, message] of cases) {
      for (const method of ['PUT', 'POST']) {
        const res = await request(s.url, roomPath('w-bad', '/content'), { method, body: JSON.stringify(body), type: 'application/json' })
        expect(res.status, JSON.stringify(body)).toBe(400)
        expect(res.json()).toMatchObject({ error: 'invalid-content' })
        expect(res.json<{ message: string }>().message).toMatch(message)
      }
    }
    const notJson = await request(s.url, roomPath('w-bad', '/content'), { method: 'PUT', body: '{', type: 'application/json' })
    expect(notJson.json()).toMatchObject({ error: 'invalid-content' })
    expect((await request(s.url, roomPath('w-bad', '/content'), { method: 'PUT', body: 'x', type: 'text/plain' })).status).toBe(415)
    expect((await request(s.url, roomPath('w-bad', '/content'), { method: 'DELETE' })).status).toBe(405)
    expect(await rows('w-bad')).toBe(before)
    expect((await request(s.url, roomPath('w-bad', '/content'))).headers.get('etag')).toBe(etag)
  })

  it('ETag: If-None-Match answers 304 while unchanged; If-Match writes only at that tag (412 otherwise, nothing written)', async () => {
    await putJson(s.url, 'w-etag', doc('v1'))
    const first = await request(s.url, roomPath('w-etag', '/content?format=markdown'))
    const etag = first.headers.get('etag')!
    expect(etag).toMatch(/^"[\w-]+"$/)
    expect((await request(s.url, roomPath('w-etag', '/content'), { headers: { 'if-none-match': etag } })).status).toBe(304)
    expect((await request(s.url, roomPath('w-etag', '/content'), { headers: { 'if-none-match': `W/${etag}` } })).status).toBe(304)

    const ok = await putJson(s.url, 'w-etag', doc('v2'), { 'if-match': etag })
    expect(ok.status).toBe(200)
    const etag2 = ok.headers.get('etag')!
    expect(etag2).not.toBe(etag)
    expect((await request(s.url, roomPath('w-etag', '/content'))).headers.get('etag')).toBe(etag2)
    expect((await request(s.url, roomPath('w-etag', '/content'), { headers: { 'if-none-match': etag } })).status).toBe(200)

    const before = await rows('w-etag')
    for (const ifMatch of [etag, `W/${etag2}`, '"nope"']) {
      const stale = await putJson(s.url, 'w-etag', doc('v3'), { 'if-match': ifMatch })
      expect(stale.status).toBe(412)
      expect(stale.json()).toMatchObject({ error: 'precondition-failed' })
    }
    expect(await rows('w-etag')).toBe(before)
    expect(sameDocument(await getJson(s.url, 'w-etag'), doc('v2'))).toBe(true)
    // A delete changes the tag too (the state vector alone would not).
    expect((await putJson(s.url, 'w-etag', { type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'v' }] }] }, { 'if-match': `"x", ${etag2}` })).status).toBe(200)
    expect((await request(s.url, roomPath('w-etag', '/content'))).headers.get('etag')).not.toBe(etag2)
  })

  it('bodies are bounded by MAX_PAYLOAD_BYTES: 413, declared or streamed, nothing applied', async () => {
    const big = JSON.stringify(doc('x'.repeat(5000)))
    const declared = await putJson(s.url, 'w-big', JSON.parse(big))
    expect(declared.status).toBe(413)
    expect(declared.json()).toMatchObject({ error: 'too-large' })
    // Chunked, no Content-Length: refused once the bytes so far pass the limit.
    const chunks = [big.slice(0, 3000), big.slice(3000)]
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift()
        if (next === undefined) controller.close()
        else controller.enqueue(new TextEncoder().encode(next))
      },
    })
    const res = await fetch(`${s.url}${roomPath('w-big', '/content')}`, { method: 'PUT', body: stream, headers: { 'content-type': 'application/json' }, duplex: 'half' })
    expect(res.status).toBe(413)
    expect(await rows('w-big')).toBe(0)
  })
})

describe('POST /updates', () => {
  it('a Yjs update goes through the same path: a live client sees it, it is stored', async () => {
    const c = client('u-live')
    await until(() => c.provider.synced, 'synced')
    const author = new Y.Doc()
    author.getText('t').insert(0, 'raw update')
    const res = await request(s.url, roomPath('u-live', '/updates'), { method: 'POST', body: Y.encodeStateAsUpdate(author), type: 'application/octet-stream' })
    expect(res.status).toBe(200)
    expect(res.json()).toEqual({ room: 'u-live', changed: true })
    expect(await rows('u-live')).toBe(1)
    await until(() => c.ydoc.getText('t').toString() === 'raw update', 'the client has it')
  })

  it('refuses what a client would be refused for: undecodable (400), missing dependencies (409), past MAX_DOC_STRUCTS (413); nothing stored', async () => {
    const post = (body: Uint8Array, type = 'application/octet-stream') => request(s.url, roomPath('u-bad', '/updates'), { method: 'POST', body, type })
    expect((await post(new Uint8Array([1, 2, 3, 250]))).json()).toMatchObject({ error: 'invalid-update' })
    expect((await post(new Uint8Array([0, 0]))).json()).toEqual({ room: 'u-bad', changed: false })
    expect((await post(new Uint8Array([0, 0]), 'application/json')).status).toBe(415)

    const author = new Y.Doc()
    const updates: Uint8Array[] = []
    author.on('update', (u: Uint8Array) => updates.push(u))
    author.getText('t').insert(0, 'a')
    author.getText('t').insert(1, 'b')
    const missing = await post(updates[1]!)
    expect(missing.status).toBe(409)
    expect(missing.json()).toMatchObject({ error: 'missing-dependencies' })

    const big = new Y.Doc()
    const bigArr = big.getArray<Y.Map<number>>('m')
    big.transact(() => {
      for (let i = 0; i < 300; i++) bigArr.push([new Y.Map()])
    })
    const tooMany = await post(Y.encodeStateAsUpdate(big))
    expect(tooMany.status).toBe(413)
    expect(tooMany.json()).toMatchObject({ error: 'doc-too-large' })
    expect(await rows('u-bad')).toBe(0)
  })
})
