import { request as httpRequest } from 'node:http'
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../helpers/server.js'
import { dropSchema, requirePostgres, uniqueName } from '../helpers/services.js'
import { SECRET, token } from '../helpers/auth.js'
import { putJson, request, roomPath } from '../content/helpers.js'
import { gif, jpeg, noisyPng, png, webp } from './images.js'

/**
 * POST / GET /api/rooms/<room>/uploads on both stores (a real SQLite file in a temp dir, the real
 * PostgreSQL with a schema of the test's own) and the memory store (same rules), against a real
 * server on PORT=0, with hostile bodies: too large (declared and streamed), not an image under an
 * image's name, SVG, truncated, past the room's quota, a type a cross-site form could send; and
 * the serving headers.
 */

const MAX_UPLOAD = 64 * 1024
const QUOTA = 160 * 1024

const stores: Array<[string, () => Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }>]> = [
  ['SQLite', async () => ({ env: {}, cleanup: async () => {} })],
  ['memory (STORE=memory)', async () => ({ env: { STORE: 'memory' }, cleanup: async () => {} })],
  [
    'PostgreSQL',
    async () => {
      const url = await requirePostgres()
      const schema = uniqueName('upl')
      return { env: { DATABASE_URL: url, PG_SCHEMA: schema }, cleanup: () => dropSchema(schema) }
    },
  ],
]

const upload = (base: string, room: string, body: Uint8Array, type = 'image/png', headers: Record<string, string> = {}) =>
  request(base, roomPath(room, '/uploads'), { method: 'POST', body, type, headers })

interface Answer {
  id: string
  url: string
  type: string
  bytes: number
  width: number | null
  height: number | null
}

describe.each(stores)('uploads on %s', (_label, setup) => {
  let s: RunningServer
  let cleanup: () => Promise<void>
  beforeAll(async () => {
    const st = await setup()
    cleanup = st.cleanup
    s = await startServer({ ...st.env, MAX_UPLOAD_BYTES: String(MAX_UPLOAD), MAX_ROOM_UPLOAD_BYTES: String(QUOTA) })
  })
  afterAll(async () => {
    await s?.close()
    await cleanup?.()
  })

  it('stores an image under the hash of its bytes, once, and serves it with its sniffed type and safe headers', async () => {
    const image = png(20, 10)
    const id = createHash('sha256').update(image).digest('hex')
    // The client's claim (octet-stream, a wrong image type) does not matter: the bytes do.
    const first = await upload(s.url, 'pics', image, 'application/octet-stream')
    expect(first.status).toBe(201)
    expect(first.json<Answer>()).toEqual({ id, url: `/api/rooms/pics/uploads/${id}`, type: 'image/png', bytes: image.length, width: 20, height: 10 })
    const again = await upload(s.url, 'pics', image, 'image/jpeg')
    expect(again.status).toBe(200)
    expect(again.json<Answer>().id).toBe(id)

    const got = await fetch(s.url + first.json<Answer>().url)
    expect(got.status).toBe(200)
    expect(Buffer.from(await got.arrayBuffer()).equals(image)).toBe(true)
    expect(Object.fromEntries(['content-type', 'x-content-type-options', 'content-security-policy', 'content-disposition', 'cache-control', 'etag'].map((h) => [h, got.headers.get(h)]))).toEqual({
      'content-type': 'image/png',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
      'content-disposition': 'inline',
      'cache-control': 'private, max-age=31536000, immutable',
      etag: `"${id}"`,
    })
    const cached = await fetch(s.url + first.json<Answer>().url, { headers: { 'if-none-match': `"${id}"` } })
    expect(cached.status).toBe(304)

    for (const [file, type] of [[jpeg(), 'image/jpeg'], [gif(), 'image/gif'], [webp(), 'image/webp']] as const) {
      const res = await upload(s.url, 'pics', file, 'image/png')
      expect(res.status, type).toBe(201)
      expect(res.json<Answer>().type).toBe(type)
      expect((await fetch(s.url + res.json<Answer>().url)).headers.get('content-type')).toBe(type)
    }
    // Another room does not hold it; an id that is not a hash is no upload.
    expect((await request(s.url, roomPath('other', `/uploads/${id}`))).status).toBe(404)
    expect((await request(s.url, roomPath('pics', '/uploads/..%2F..%2Fetc'))).status).toBe(404)
  })

  it('refuses what is not an image, SVG and truncated images, with a JSON message; nothing stored', async () => {
    const cases: Array<[string, Uint8Array, string, number, string]> = [
      ['HTML named .png', Buffer.from('<html><script>alert(document.cookie)</script></html>'), 'image/png', 415, 'not-an-image'],
      ['a script as JPEG', Buffer.from('alert(1)'), 'image/jpeg', 415, 'not-an-image'],
      ['SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), 'image/svg+xml', 415, 'svg-not-allowed'],
      ['truncated PNG', png(30, 30).subarray(0, 60), 'image/png', 400, 'invalid-image'],
      ['empty', new Uint8Array(0), 'image/png', 415, 'not-an-image'],
      // Types a cross-site form can send without a preflight: refused whatever the bytes.
      ['a PNG as text/plain', png(2, 2), 'text/plain', 415, 'unsupported-media-type'],
      ['a PNG as a form', png(2, 2), 'multipart/form-data; boundary=x', 415, 'unsupported-media-type'],
      ['a PNG without a type', png(2, 2), '', 415, 'unsupported-media-type'],
    ]
    for (const [name, body, type, status, error] of cases) {
      const res = await upload(s.url, 'refusals', body, type)
      expect(res.status, name).toBe(status)
      expect(res.json(), name).toMatchObject({ error })
      expect(typeof res.json().message).toBe('string')
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    }
    const id = createHash('sha256').update(png(30, 30).subarray(0, 60)).digest('hex')
    expect((await request(s.url, roomPath('refusals', `/uploads/${id}`))).status).toBe(404)
  })

  it('a body past MAX_UPLOAD_BYTES is 413 whether declared or streamed, without reading it all', async () => {
    const declared = await upload(s.url, 'big', Buffer.alloc(MAX_UPLOAD + 1, 1))
    expect(declared.status).toBe(413)
    expect(declared.json()).toMatchObject({ error: 'too-large' })
    expect(declared.json().message).toContain('MAX_UPLOAD_BYTES')

    // Chunked, no Content-Length, and far more than the limit on offer: the server answers once
    // it has seen the limit go by, and closes the connection instead of reading the rest.
    const { status, sent } = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
      const req = httpRequest(`${s.url}${roomPath('big', '/uploads')}`, { method: 'POST', headers: { 'content-type': 'image/png', 'transfer-encoding': 'chunked' } })
      let sent = 0
      const chunk = Buffer.alloc(16 * 1024, 7)
      const pump = () => {
        while (sent < 64 * MAX_UPLOAD && !req.destroyed) {
          sent += chunk.length
          if (!req.write(chunk)) return void req.once('drain', pump)
        }
        req.end()
      }
      req.on('response', (res) => {
        res.resume()
        req.destroy()
        resolve({ status: res.statusCode!, sent })
      })
      req.on('error', (err) => (sent > MAX_UPLOAD ? resolve({ status: 0, sent }) : reject(err)))
      pump()
    })
    // Either the 413 arrived or the server cut the connection; never did it take all 64× the limit.
    if (status !== 0) expect(status).toBe(413)
    expect(sent).toBeLessThan(64 * MAX_UPLOAD)
  })

  it("a room's uploads stay within MAX_ROOM_UPLOAD_BYTES (507); another room has its own quota; the same image again costs nothing", async () => {
    const sizes: number[] = []
    let n = 0
    let res: Awaited<ReturnType<typeof upload>>
    // Distinct noisy PNGs of ~48 KB until the quota refuses one.
    for (;;) {
      res = await upload(s.url, 'quota', noisyPng(110, 110, n++))
      if (res.status !== 201) break
      sizes.push(res.json<Answer>().bytes)
    }
    expect(res.status).toBe(507)
    expect(res.json()).toMatchObject({ error: 'upload-quota' })
    expect(res.json().message).toContain('MAX_ROOM_UPLOAD_BYTES')
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(QUOTA)
    // Concurrent uploads cannot both pass the check.
    const burst = await Promise.all(Array.from({ length: 6 }, (_, i) => upload(s.url, 'quota-burst', noisyPng(110, 110, 1000 + i))))
    const stored = burst.filter((r) => r.status === 201).map((r) => r.json<Answer>().bytes)
    expect(stored.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(QUOTA)
    expect(burst.some((r) => r.status === 507)).toBe(true)
    expect(burst.map((r) => r.status).sort()).toEqual([201, 201, 201, 507, 507, 507])
    expect((await upload(s.url, 'quota-other', png(3, 3))).status).toBe(201)
    expect((await upload(s.url, 'quota', noisyPng(110, 110, 0))).status).toBe(200)
  })

  it('DELETE of the room deletes its uploads', async () => {
    await putJson(s.url, 'gone', { type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'x' }] }] })
    const res = await upload(s.url, 'gone', png(5, 5))
    const url = res.json<Answer>().url
    expect((await fetch(s.url + url)).status).toBe(200)
    expect((await request(s.url, roomPath('gone'), { method: 'DELETE' })).status).toBe(204)
    expect((await fetch(s.url + url)).status).toBe(404)
  })

  it('the document keeps an uploaded image through the content API; an image from elsewhere is refused', async () => {
    const { url } = (await upload(s.url, 'doc-img', png(8, 8))).json<Answer>()
    const doc = { type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'image', attrs: { src: url, alt: 'red', width: 50 } }] }] }
    expect((await putJson(s.url, 'doc-img', doc)).status).toBe(200)
    expect((await request(s.url, roomPath('doc-img', '/content?format=markdown'))).text).toBe(`![red](${url})`)
    for (const src of ['https://tracker.example/pixel.png', 'data:image/png;base64,AAAA', 'javascript:alert(1)']) {
      const bad = { type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'image', attrs: { src, alt: '' } }] }] }
      const res = await putJson(s.url, 'doc-img', bad)
      expect(res.status, src).toBe(400)
      expect(res.json()).toMatchObject({ error: 'invalid-content' })
    }
  })
})

describe('uploads with AUTH_SECRET', () => {
  let s: RunningServer
  beforeAll(async () => {
    s = await startServer({ AUTH_SECRET: SECRET })
  })
  afterAll(() => s?.close())

  it('POST needs a write token for the room (401 without, 403 read-only or another room); GET a token for the room, as a header or ?token=', async () => {
    const write = await token({ room: 'auth', access: 'write' })
    const read = await token({ room: 'auth', access: 'read' })
    const other = await token({ room: 'elsewhere', access: 'write' })
    expect((await upload(s.url, 'auth', png(2, 2))).status).toBe(401)
    const readOnly = await upload(s.url, 'auth', png(2, 2), 'image/png', { authorization: `Bearer ${read}` })
    expect(readOnly.status).toBe(403)
    expect(readOnly.json()).toMatchObject({ error: 'read-only' })
    expect((await upload(s.url, 'auth', png(2, 2), 'image/png', { authorization: `Bearer ${other}` })).status).toBe(403)
    const ok = await upload(s.url, 'auth', png(2, 2), 'image/png', { authorization: `Bearer ${write}` })
    expect(ok.status).toBe(201)
    const { url } = ok.json<Answer>()

    expect((await fetch(s.url + url)).status).toBe(401)
    expect((await fetch(`${s.url}${url}?token=${other}`)).status).toBe(403)
    expect((await fetch(`${s.url}${url}?token=${read}`)).status).toBe(200)
    expect((await fetch(s.url + url, { headers: { authorization: `Bearer ${read}` } })).status).toBe(200)
    // A conditional GET is authorized too: a 304 tells whether the room holds the file.
    expect((await fetch(s.url + url, { headers: { 'if-none-match': `"${url.slice(-64)}"` } })).status).toBe(401)
  })
})

describe('uploads turned off (MAX_ROOM_UPLOAD_BYTES=0)', () => {
  let s: RunningServer
  beforeAll(async () => {
    s = await startServer({ MAX_ROOM_UPLOAD_BYTES: '0' })
  })
  afterAll(() => s?.close())

  it('every upload is 403 uploads-disabled, before its body is read', async () => {
    const res = await upload(s.url, 'off', png(2, 2))
    expect(res.status).toBe(403)
    expect(res.json()).toMatchObject({ error: 'uploads-disabled' })
  })
})
