import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../helpers/server.js'
import { SECRET, token } from '../helpers/auth.js'
import { request, roomPath } from './helpers.js'

/** The content API with AUTH_SECRET and ALLOWED_ORIGINS: the upgrade's rules, and writes need `access: "write"`. */

let s: RunningServer
beforeAll(async () => {
  s = await startServer({ AUTH_SECRET: SECRET, ALLOWED_ORIGINS: 'https://app.example' })
})
afterAll(() => s.close())

const body = JSON.stringify({ type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'secret' }] }] })
const bearer = (t: string) => ({ authorization: `Bearer ${t}` })

describe('content API access control', () => {
  it('no token: 401; a token for another room: 403; the error is JSON', async () => {
    const none = await request(s.url, roomPath('doc', '/content'))
    expect(none.status).toBe(401)
    expect(none.json()).toMatchObject({ error: 'token-missing' })
    expect(typeof none.json().message).toBe('string')
    const other = await request(s.url, roomPath('doc', '/content'), { headers: bearer(await token({ room: 'elsewhere' })) })
    expect(other.status).toBe(403)
    expect(other.json()).toMatchObject({ error: 'wrong-room' })
  })

  it('a read token reads (Bearer or ?token=) but cannot write: 403 read-only, nothing applied', async () => {
    const write = await token({ room: 'doc', access: 'write' })
    const read = await token({ room: 'doc', access: 'read' })
    expect((await request(s.url, roomPath('doc', '/content'), { method: 'PUT', body, type: 'application/json', headers: bearer(write) })).status).toBe(200)
    const etag = (await request(s.url, roomPath('doc', '/content'), { headers: bearer(read) })).headers.get('etag')
    expect((await request(s.url, roomPath('doc', `/content?format=text&token=${read}`))).text).toBe('secret')

    const refusals = [
      request(s.url, roomPath('doc', '/content'), { method: 'PUT', body, type: 'application/json', headers: bearer(read) }),
      request(s.url, roomPath('doc', '/content'), { method: 'POST', body, type: 'application/json', headers: bearer(read) }),
      request(s.url, roomPath('doc', '/updates'), { method: 'POST', body: new Uint8Array([0, 0]), type: 'application/octet-stream', headers: bearer(read) }),
      request(s.url, roomPath('doc'), { method: 'DELETE', headers: bearer(read) }),
    ]
    for (const res of await Promise.all(refusals)) {
      expect(res.status).toBe(403)
      expect(res.json()).toMatchObject({ error: 'read-only' })
    }
    expect((await request(s.url, roomPath('doc', '/content'), { headers: bearer(read) })).headers.get('etag')).toBe(etag)
  })

  it('listing rooms needs a token for room "*"', async () => {
    expect((await request(s.url, '/api/rooms')).status).toBe(401)
    expect((await request(s.url, '/api/rooms', { headers: bearer(await token({ room: 'doc', access: 'write' })) })).status).toBe(403)
    const all = await request(s.url, '/api/rooms', { headers: bearer(await token({ room: '*', access: 'read' })) })
    expect(all.status).toBe(200)
    expect(all.json<{ rooms: Array<{ name: string }> }>().rooms.map((r) => r.name)).toContain('doc')
  })

  it('a foreign Origin is refused, as on the upgrade', async () => {
    const t = await token({ room: 'doc', access: 'write' })
    const res = await request(s.url, roomPath('doc', '/content'), { headers: { ...bearer(t), origin: 'https://evil.example' } })
    expect(res.status).toBe(403)
    expect(res.json()).toMatchObject({ error: 'origin-not-allowed' })
    expect((await request(s.url, roomPath('doc', '/content'), { headers: { ...bearer(t), origin: 'https://app.example' } })).status).toBe(200)
  })
})
