import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { CloseCode } from '@tandem/sync'
import { SyncProvider, type StatusEvent } from '@tandem/sync/provider'
import { startServer, type RunningServer } from '../helpers/server.js'
import { closeOf, synced, yws } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { getJson, putJson, request, roomPath } from './helpers.js'

/** GET /api/rooms and DELETE /api/rooms/<room> against a real server (PORT=0, SQLite). */

let s: RunningServer
const cleanup: Array<() => void> = []
beforeAll(async () => {
  s = await startServer()
})
afterAll(async () => {
  for (const c of cleanup) c()
  await s.close()
})

interface Listing {
  rooms: Array<{ name: string; bytes: number; createdAt: string | null; updatedAt: string | null; clients: number }>
  next: string | null
}

const text = (t: string) => ({ type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: t }] }] })

describe('GET /api/rooms', () => {
  it('lists stored rooms by name, a page at a time, with size, times and connected clients', async () => {
    const started = Date.now()
    const names = ['list/b', 'list/a', 'list/c', 'list/ü', 'list/a/1', 'other']
    for (const name of names) await putJson(s.url, name, text(name))
    const c = yws(s.wsUrl, 'list/b')
    cleanup.push(c.destroy)
    await synced(c.provider)

    const first = (await request(s.url, '/api/rooms?prefix=list/&limit=2')).json<Listing>()
    expect(first.rooms.map((r) => r.name)).toEqual(['list/a', 'list/a/1'])
    expect(first.next).toEqual(expect.any(String))
    const seen = [...first.rooms]
    for (let next = first.next; next !== null; ) {
      const page = (await request(s.url, `/api/rooms?prefix=list/&limit=2&cursor=${next}`)).json<Listing>()
      seen.push(...page.rooms)
      next = page.next
    }
    expect(seen.map((r) => r.name)).toEqual(['list/a', 'list/a/1', 'list/b', 'list/c', 'list/ü'])
    const b = seen.find((r) => r.name === 'list/b')!
    expect(b.clients).toBe(1)
    expect(seen.find((r) => r.name === 'list/a')!.clients).toBe(0)
    expect(b.bytes).toBeGreaterThan(0)
    expect(Date.parse(b.createdAt!)).toBeGreaterThanOrEqual(started - 1000)
    expect(Date.parse(b.updatedAt!)).toBeGreaterThanOrEqual(Date.parse(b.createdAt!))

    const all = (await request(s.url, '/api/rooms')).json<Listing>()
    expect(all.rooms.map((r) => r.name)).toContain('other')
    expect(all.next).toBeNull()
    for (const bad of ['limit=0', 'limit=1001', 'limit=x', 'cursor=%%%', 'cursor=']) {
      const res = await request(s.url, `/api/rooms?${bad}`)
      expect(res.status, bad).toBe(400)
      const error = res.json()
      expect(typeof error.error === 'string' && typeof error.message === 'string').toBe(true)
    }
    expect((await request(s.url, '/api/rooms', { method: 'POST' })).status).toBe(405)
  })
})

describe('DELETE /api/rooms/<room>', () => {
  it('closes its connections with 4404 (room-deleted), removes its data, and a later open starts empty', async () => {
    await putJson(s.url, 'del/me', text('to be deleted'))
    const a = yws(s.wsUrl, 'del/me')
    const b = yws(s.wsUrl, 'del/me')
    cleanup.push(a.destroy, b.destroy)
    await Promise.all([synced(a.provider), synced(b.provider)])
    const closes = [closeOf(a.provider.ws as never), closeOf(b.provider.ws as never)]
    // y-websocket reconnects unless told to stop; 4404 is in the range SyncProvider never retries.
    a.provider.shouldConnect = false
    b.provider.shouldConnect = false

    const res = await request(s.url, roomPath('del/me'), { method: 'DELETE' })
    expect(res.status).toBe(204)
    for (const close of await Promise.all(closes)) expect(close).toEqual({ code: CloseCode.RoomDeleted, reason: 'room deleted' })

    expect((await request(s.url, '/api/rooms?prefix=del/')).json<Listing>().rooms).toEqual([])
    expect(await getJson(s.url, 'del/me')).toEqual({ type: 'doc', content: [{ type: 'paragraph' }] })
    const later = yws(s.wsUrl, 'del/me')
    cleanup.push(later.destroy)
    await synced(later.provider)
    expect(later.doc.getXmlFragment('default').length).toBe(0)
    // A room nobody has open is deleted from the store alone; deleting nothing is fine.
    await putJson(s.url, 'del/closed', text('x'))
    await until(() => s.server.registry.size <= 2, 'unloaded')
    expect((await request(s.url, roomPath('del/closed'), { method: 'DELETE' })).status).toBe(204)
    expect((await request(s.url, roomPath('del/never'), { method: 'DELETE' })).status).toBe(204)
    expect((await request(s.url, '/api/rooms?prefix=del/')).json<Listing>().rooms).toEqual([])
  })

  it('a SyncProvider stops on 4404 instead of reconnecting into the deleted room', async () => {
    await putJson(s.url, 'del/provider', text('x'))
    const doc = new Y.Doc()
    const provider = new SyncProvider({ url: s.wsUrl, room: 'del/provider', doc, WebSocket, initialBackoffMs: 20, maxBackoffMs: 200 })
    cleanup.push(() => provider.destroy())
    const events: StatusEvent[] = []
    provider.on('status', (e) => events.push(e))
    await until(() => provider.synced, 'synced')
    expect((await request(s.url, roomPath('del/provider'), { method: 'DELETE' })).status).toBe(204)
    const stopped = await until(() => events.find((e) => e.status === 'disconnected'), 'disconnected')
    expect(stopped).toEqual({ status: 'disconnected', closeCode: CloseCode.RoomDeleted, reason: 'room deleted', permanent: true })
    // No retry is scheduled (no retryInMs above), so nothing reopens the room.
    await until(() => s.server.registry.peek('del/provider') === undefined, 'the room unloaded')
    expect(provider.status).toBe('disconnected')
  })

  it('every route is counted in tandem_http_requests_total', async () => {
    await fetch(`${s.url}/healthz`)
    await fetch(`${s.url}/api/rooms/x/state`)
    const metrics = await (await fetch(`${s.url}/metrics`)).text()
    for (const route of ['rooms', 'room', 'content', 'healthz', 'state']) {
      expect(metrics).toMatch(new RegExp(`tandem_http_requests_total\\{route="${route}",method="\\w+",status="\\d+"\\} \\d+`))
    }
    expect(metrics).toContain('tandem_http_requests_total{route="room",method="DELETE",status="204"}')
  })
})
