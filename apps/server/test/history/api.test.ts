import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { startServer, type RunningServer } from '../helpers/server.js'
import { dropSchema, requirePostgres, uniqueName } from '../helpers/services.js'
import { SECRET, token } from '../helpers/auth.js'
import { putJson, request, roomPath } from '../content/helpers.js'
import { listVersions, liveText, nameVersion, paragraphs, restore, versionText, type VersionJson } from './helpers.js'

/**
 * The versions API, round trip, on both stores: a real SQLite file in a temp dir, and the real
 * PostgreSQL with a schema of the test's own. Automatic versions are off here (HISTORY_QUIET_MS=0):
 * only the ones the API takes.
 */

const stores: Array<[string, () => Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }>]> = [
  ['SQLite', async () => ({ env: {}, cleanup: async () => {} })],
  [
    'PostgreSQL',
    async () => {
      const url = await requirePostgres()
      const schema = uniqueName('hist')
      return { env: { DATABASE_URL: url, PG_SCHEMA: schema }, cleanup: () => dropSchema(schema) }
    },
  ],
]

describe.each(stores)('versions API on %s', (_label, setup) => {
  let s: RunningServer
  let cleanup: () => Promise<void>
  beforeAll(async () => {
    const st = await setup()
    cleanup = st.cleanup
    s = await startServer({ ...st.env, HISTORY_QUIET_MS: '0' })
  })
  afterAll(async () => {
    await s?.close()
    await cleanup?.()
  })

  it('a named version, a replacing PUT (a version before it), then a restore: the document is the named version again, and the restore can be undone', async () => {
    const room = 'round-trip'
    expect((await putJson(s.url, room, paragraphs("first draft", "kept paragraph"))).status).toBe(200)
    const named = await nameVersion(s.url, room, '  Draft 1  ')
    expect(named.status).toBe(201)
    const v1 = named.json<VersionJson>()
    expect(v1).toMatchObject({ name: 'Draft 1', kind: 'named' })
    expect(v1.size).toBeGreaterThan(0)
    expect(Date.parse(v1.time)).toBeGreaterThan(Date.now() - 60_000)

    expect((await putJson(s.url, room, paragraphs('vandalised', 'kept paragraph'))).status).toBe(200)
    let { versions } = await listVersions(s.url, room)
    expect(versions.map((v) => v.kind)).toEqual(['before-replace', 'named'])
    expect(await versionText(s.url, room, versions[0]!.id)).toBe('first draft\n\nkept paragraph')

    const res = await restore(s.url, room, v1.id)
    expect(res.status).toBe(200)
    expect(res.json()).toMatchObject({ room, restored: v1.id, changed: true, before: { kind: 'before-restore' } })
    expect(await liveText(s.url, room)).toBe('first draft\n\nkept paragraph')

    versions = (await listVersions(s.url, room)).versions
    expect(versions.map((v) => v.kind)).toEqual(['before-restore', 'before-replace', 'named'])
    const before = versions[0]!
    expect(await versionText(s.url, room, before.id)).toBe('vandalised\n\nkept paragraph')
    // Undo the restore by restoring what it replaced.
    expect((await restore(s.url, room, before.id)).status).toBe(200)
    expect(await liveText(s.url, room)).toBe('vandalised\n\nkept paragraph')
  })

  it('the list has an ETag: 304 while it is unchanged, 200 once a version is added or renamed; it says whose authors are exact and when automatic versions come', async () => {
    const room = 'etag'
    await putJson(s.url, room, paragraphs('one'))
    const v1 = (await nameVersion(s.url, room, 'v1')).json<VersionJson>()
    const first = await request(s.url, roomPath(room, '/versions'))
    const etag = first.headers.get('etag')!
    expect(etag).toMatch(/^W\/"[\w-]+"$/)
    const again = await request(s.url, roomPath(room, '/versions'), { headers: { 'If-None-Match': etag } })
    expect(again.status).toBe(304)
    expect(again.text).toBe('')
    expect((await request(s.url, roomPath(room, '/versions'), { headers: { 'If-None-Match': '"other", ' + etag } })).status).toBe(304)
    // autoAfterMs: null (HISTORY_QUIET_MS=0 here); the oldest version has nothing to be exact against.
    expect(first.json()).toMatchObject({ autoAfterMs: null, versions: [{ id: v1.id, authorsExact: false }], next: null })

    await putJson(s.url, room, paragraphs('two'))
    const v2 = (await nameVersion(s.url, room, 'v2')).json<VersionJson>()
    const second = await request(s.url, roomPath(room, '/versions'), { headers: { 'If-None-Match': etag } })
    expect(second.status).toBe(200)
    const list = second.json<{ versions: Array<VersionJson & { authorsExact: boolean }> }>().versions
    // v2's predecessor (the version before the PUT) is minutes old: nothing between was thinned.
    expect(list.find((v) => v.id === v2.id)?.authorsExact).toBe(true)
    const etag2 = second.headers.get('etag')!
    expect((await request(s.url, roomPath(room, `/versions/${v1.id}`), { method: 'PATCH', body: JSON.stringify({ name: 'renamed' }), type: 'application/json' })).status).toBe(200)
    expect((await request(s.url, roomPath(room, '/versions'), { headers: { 'If-None-Match': etag2 } })).status).toBe(200)
    // The page's last version is exact when an older one exists beyond the page.
    const page = await request(s.url, roomPath(room, '/versions?limit=1'))
    expect(page.json()).toMatchObject({ versions: [{ id: v2.id, authorsExact: true }] })
    expect(page.json<{ next: string | null }>().next).not.toBeNull()
  })

  it('a restore marks itself in the document (map tandem-history, key restored), so editors drop their undo stacks; the mark stays one key', async () => {
    const room = 'restore-mark'
    await putJson(s.url, room, paragraphs('the version'))
    const v1 = (await nameVersion(s.url, room, 'v1')).json<VersionJson>()
    await putJson(s.url, room, paragraphs('something else'))
    const first = (await restore(s.url, room, v1.id)).json<{ before: VersionJson }>()
    let marks = await restoredMarks(room)
    expect(marks).toEqual({ restored: { version: v1.id, before: first.before.id, at: Date.parse(first.before.time) } })
    await putJson(s.url, room, paragraphs('again something else'))
    const second = (await restore(s.url, room, v1.id)).json<{ before: VersionJson }>()
    marks = await restoredMarks(room)
    expect(Object.keys(marks)).toEqual(['restored'])
    expect(await liveText(s.url, room)).toBe('the version')
    expect([first.before.id, second.before.id]).toContain((marks.restored as { before: number }).before)
  })

  async function restoredMarks(room: string): Promise<Record<string, unknown>> {
    const res = await fetch(s.url + roomPath(room, '/state'))
    const doc = new Y.Doc()
    Y.applyUpdate(doc, new Uint8Array(await res.arrayBuffer()))
    const json = doc.getMap('tandem-history').toJSON()
    doc.destroy()
    return json
  }

  it('a version in every format; Markdown and HTML as the content API writes them', async () => {
    const room = 'formats'
    await putJson(s.url, room, { type: 'doc', content: [{ type: 'heading', attrs: { level: 1 }, content: [{ type: 'text', text: 'Title' }] }] })
    const v = (await nameVersion(s.url, room, 'with heading')).json<VersionJson>()
    const md = await request(s.url, roomPath(room, `/versions/${v.id}/content?format=markdown`))
    expect(md.status).toBe(200)
    expect(md.headers.get('content-type')).toMatch(/text\/markdown/)
    expect(md.text.trim()).toBe('# Title')
    expect((await request(s.url, roomPath(room, `/versions/${v.id}/content?format=html`))).text).toBe('<h1>Title</h1>')
    const json = await request(s.url, roomPath(room, `/versions/${v.id}/content`))
    expect(json.json()).toMatchObject({ type: 'doc', content: [{ type: 'heading' }] })
    const etag = json.headers.get('etag')!
    expect((await request(s.url, roomPath(room, `/versions/${v.id}/content`), { headers: { 'if-none-match': etag } })).status).toBe(304)
    expect((await request(s.url, roomPath(room, `/versions/${v.id}/content?format=pdf`))).status).toBe(400)
  })

  it('lists newest first, a page at a time, every version once', async () => {
    const room = 'pages'
    await putJson(s.url, room, paragraphs('x'))
    for (let i = 1; i <= 5; i++) expect((await nameVersion(s.url, room, `v${i}`)).status).toBe(201)
    const seen: string[] = []
    let cursor: string | null = ''
    while (cursor !== null) {
      const page = await listVersions(s.url, room, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      expect(page.versions.length).toBeLessThanOrEqual(2)
      seen.push(...page.versions.map((v) => v.name!))
      cursor = page.next
    }
    expect(seen).toEqual(['v5', 'v4', 'v3', 'v2', 'v1'])
  })

  it('a version can be named later, and unnamed; unknown ids are 404', async () => {
    const room = 'rename'
    await putJson(s.url, room, paragraphs('x'))
    const v = (await nameVersion(s.url, room, 'first')).json<VersionJson>()
    const patch = (name: unknown) => request(s.url, roomPath(room, `/versions/${v.id}`), { method: 'PATCH', body: JSON.stringify({ name }), type: 'application/json' })
    expect((await patch('better')).json()).toMatchObject({ id: v.id, name: 'better' })
    expect((await patch(null)).json()).toMatchObject({ id: v.id, name: null })
    expect((await request(s.url, roomPath(room, '/versions/999999/content'))).status).toBe(404)
    expect((await restore(s.url, room, 999999)).status).toBe(404)
    expect((await request(s.url, roomPath('other-room', `/versions/${v.id}/content`))).status).toBe(404) // ids are per room
  })

  it('hostile input: bad names, bodies, limits and cursors are 4xx and change nothing', async () => {
    const room = 'hostile'
    await putJson(s.url, room, paragraphs('x'))
    expect((await nameVersion(s.url, room, '')).status).toBe(400)
    expect((await nameVersion(s.url, room, 'x'.repeat(201))).status).toBe(400)
    expect((await nameVersion(s.url, room, { nested: true })).status).toBe(400)
    expect((await request(s.url, roomPath(room, '/versions'), { method: 'POST', body: 'not json', type: 'application/json' })).status).toBe(400)
    expect((await request(s.url, roomPath(room, '/versions'), { method: 'POST', body: '{"name":"x"}', type: 'text/plain' })).status).toBe(415)
    const huge = await request(s.url, roomPath(room, '/versions'), { method: 'POST', body: JSON.stringify({ name: 'x', pad: 'y'.repeat(10_000) }), type: 'application/json' })
    expect(huge.status).toBe(413)
    expect((await request(s.url, roomPath(room, '/versions?limit=0'))).status).toBe(400)
    expect((await request(s.url, roomPath(room, '/versions?limit=201'))).status).toBe(400)
    expect((await request(s.url, roomPath(room, '/versions?cursor=!!'))).status).toBe(400)
    expect((await request(s.url, roomPath(room, '/versions'), { method: 'DELETE' })).status).toBe(405)
    expect((await listVersions(s.url, room)).versions).toEqual([])
  })

  it('deleting the room deletes its versions', async () => {
    const room = 'deleted'
    await putJson(s.url, room, paragraphs('x'))
    await nameVersion(s.url, room, 'keep me?')
    expect((await request(s.url, roomPath(room), { method: 'DELETE' })).status).toBe(204)
    expect((await listVersions(s.url, room)).versions).toEqual([])
  })
})

describe('versions API access control', () => {
  let s: RunningServer
  beforeAll(async () => {
    s = await startServer({ AUTH_SECRET: SECRET, HISTORY_QUIET_MS: '0' })
  })
  afterAll(() => s?.close())
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` })

  it('reading needs a token for the room; naming and restoring need write access', async () => {
    const write = bearer(await token({ room: 'doc', access: 'write' }))
    const read = bearer(await token({ room: 'doc', access: 'read' }))
    expect((await putJson(s.url, "doc", paragraphs("secret"), write)).status).toBe(200)
    expect((await request(s.url, roomPath('doc', '/versions'))).status).toBe(401)
    expect((await nameVersion(s.url, 'doc', 'by a reader', read)).status).toBe(403)
    const v = (await nameVersion(s.url, 'doc', 'by a writer', write)).json<VersionJson>()
    expect((await listVersions(s.url, 'doc', '', read)).versions.map((x) => x.id)).toEqual([v.id])
    expect((await request(s.url, roomPath('doc', `/versions/${v.id}/content?format=text`), { headers: read })).text).toBe('secret')
    expect((await restore(s.url, 'doc', v.id, read)).status).toBe(403)
    const other = bearer(await token({ room: 'elsewhere', access: 'write' }))
    expect((await request(s.url, roomPath('doc', `/versions/${v.id}/content`), { headers: other })).status).toBe(403)
  })
})
