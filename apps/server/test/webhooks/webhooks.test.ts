// Webhooks against a real receiver (node:http on port 0), on both stores: signed events, a room's
// events in order, the debounce and its maximum wait, retries while the receiver is down, dead
// events, and room.deleted after the room's last changes.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { requirePostgres } from '../helpers/services.js'
import { until } from '../helpers/wait.js'
import { startReceiver, type Received } from './receiver.js'
import { metricValue, webhookServer, write, type StoreKind } from './helpers.js'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { SECRET, token } from '../helpers/auth.js'

let pgUrl = ''
beforeAll(async () => {
  pgUrl = await requirePostgres()
})
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => {})
})

async function receiver(answer?: NonNullable<Parameters<typeof startReceiver>[0]>['answer']) {
  const r = await startReceiver({ answer })
  cleanups.push(() => r.close())
  return r
}

const ofRoom = (rs: Received[], room: string) => rs.filter((r) => r.event.room === room).map((r) => r.event)

describe.each<StoreKind>(['sqlite', 'postgres'])('webhooks on %s', (store) => {
  it("events are signed (timestamp + HMAC), carry their id and type in headers, and each room's arrive in order", { timeout: 30_000 }, async () => {
    const r = await receiver()
    const s = await webhookServer(store, pgUrl, r.url, { WEBHOOK_DEBOUNCE_MS: '200', WEBHOOK_MAX_WAIT_MS: '1000' }, cleanups)
    // Two rooms written in turns: each room's events are its own ordered stream.
    for (let i = 0; i < 3; i++) {
      await write(s.url, 'one')
      await write(s.url, 'two')
    }
    // Written one at a time on one server: the rooms' seqs alternate from the first one on.
    await until(() => r.accepted().filter((x) => x.event.type === 'room.created').length === 2, 'room.created for both rooms')
    const created = r.accepted().filter((x) => x.event.type === 'room.created')
    const firstSeq = Math.min(...created.map((x) => x.event.seq!.from))
    const lastSeq = { one: firstSeq + 4, two: firstSeq + 5 }
    for (const room of ['one', 'two'] as const) {
      await until(() => ofRoom(r.accepted(), room).some((e) => e.seq?.to === lastSeq[room]), `room ${room} announced up to its last row`)
      const [first, ...changes] = ofRoom(r.accepted(), room)
      expect(first!.type).toBe('room.created')
      expect(changes.every((e) => e.type === 'document.changed')).toBe(true)
      // In order, without gaps or overlaps: each change starts where the previous left off.
      expect(changes[0]!.seq!.from).toBe(first!.seq!.from)
      for (let i = 1; i < changes.length; i++) expect(changes[i]!.seq!.from).toBe(changes[i - 1]!.seq!.to + 2)
    }
    // A later change of room one: the next event, its range after the last one's.
    const before = r.accepted().length
    await write(s.url, 'one')
    await r.waitFor(before + 1)
    const events = ofRoom(r.accepted(), 'one')
    expect(events.at(-1)!.type).toBe('document.changed')
    expect(events.at(-1)!.seq).toEqual({ from: firstSeq + 6, to: firstSeq + 6 })
    for (const got of r.all) {
      expect(got.verified).toBe(true)
      expect(got.headers['x-tandem-event-id']).toBe(got.event.id)
      expect(got.headers['x-tandem-event']).toBe(got.event.type)
      expect(got.headers['content-type']).toBe('application/json')
      expect(new Date(got.event.time).getTime()).not.toBeNaN()
    }
    // The body is what was signed: a tampered body, or another secret, fails the check.
    const { verify } = await import('./receiver.js')
    const first = r.all[0]!
    expect(verify('webhook-test-secret-0123456789abcdef', first.headers, first.body.replace('"one"', '"two"'))).toBe(false)
    expect(verify('another-secret-0123456789abcdef', first.headers, first.body)).toBe(false)
    // Replay outside the window: refused.
    expect(verify('webhook-test-secret-0123456789abcdef', { ...first.headers, 'x-tandem-timestamp': String(Math.floor(Date.now() / 1000) - 600) }, first.body)).toBe(false)
    await until(async () => (await metricValue(s.url, 'tandem_webhooks_sent_total')) === r.accepted().length, 'sent counted')
  })

  it("document.changed names who wrote: the token subs of the edits' senders, each once", { timeout: 30_000 }, async () => {
    const r = await receiver()
    const s = await webhookServer(store, pgUrl, r.url, { AUTH_SECRET: SECRET, WEBHOOK_DEBOUNCE_MS: '1000', WEBHOOK_MAX_WAIT_MS: '600000' }, cleanups)
    const room = 'authored'
    const open = async (sub: string) => {
      const doc = new Y.Doc()
      const params = { token: await token({ sub, room }) }
      const provider = new WebsocketProvider(s.wsUrl, room, doc, { WebSocketPolyfill: WebSocket as never, disableBc: true, params })
      cleanups.push(() => provider.destroy())
      await until(() => provider.synced, `${sub} synced`)
      return doc
    }
    const alice = await open('alice')
    const bob = await open('bob')
    alice.getText('t').insert(0, 'a')
    bob.getText('t').insert(0, 'b')
    alice.getText('t').insert(0, 'c')
    await until(() => alice.getText('t').length === 3 && bob.getText('t').length === 3, 'both edits everywhere')
    const [created, changed] = await r.waitFor(2)
    expect(created!.event.type).toBe('room.created')
    expect(created!.event.authors!.length).toBeGreaterThan(0)
    expect(changed!.event.type).toBe('document.changed')
    expect([...changed!.event.authors!].sort()).toEqual(['alice', 'bob'])
  })

  it("a write through the HTTP API names its token's sub, for both kinds of write", { timeout: 30_000 }, async () => {
    const r = await receiver()
    const s = await webhookServer(store, pgUrl, r.url, { AUTH_SECRET: SECRET, WEBHOOK_DEBOUNCE_MS: '50', WEBHOOK_MAX_WAIT_MS: '600000' }, cleanups)
    const bearer = async (sub: string, room: string) => ({ Authorization: `Bearer ${await token({ sub, room })}` })
    const put = await fetch(`${s.url}/api/rooms/api-authored/content`, {
      method: 'PUT',
      headers: { 'Content-Type': 'text/markdown', ...(await bearer('carol', 'api-authored')) },
      body: 'Written by **carol**',
    })
    expect(put.status).toBe(200)
    const doc = new Y.Doc()
    doc.getText('t').insert(0, 'raw')
    const post = await fetch(`${s.url}/api/rooms/api-updates/updates`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream', ...(await bearer('dave', 'api-updates')) },
      body: Y.encodeStateAsUpdate(doc),
    })
    expect(post.status).toBe(200)
    const events = await r.waitFor(4)
    const changed = (room: string) => events.find((e) => e.event.room === room && e.event.type === 'document.changed')?.event
    expect(changed('api-authored')?.authors).toEqual(['carol'])
    expect(changed('api-updates')?.authors).toEqual(['dave'])
  })

  it('restoring a version sends document.restored (with the version restored, the version taken before, the row and who restored)', { timeout: 30_000 }, async () => {
    const r = await receiver()
    const s = await webhookServer(store, pgUrl, r.url, { AUTH_SECRET: SECRET, WEBHOOK_DEBOUNCE_MS: '50', WEBHOOK_MAX_WAIT_MS: '600000' }, cleanups)
    const room = 'restored'
    const auth = { Authorization: `Bearer ${await token({ sub: 'erin', room })}` }
    const put = (body: string) => fetch(`${s.url}/api/rooms/${room}/content`, { method: 'PUT', headers: { 'Content-Type': 'text/markdown', ...auth }, body })
    expect((await put('First draft')).status).toBe(200)
    const named = await fetch(`${s.url}/api/rooms/${room}/versions`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...auth }, body: '{"name":"draft"}' })
    expect(named.status).toBe(201)
    const version = ((await named.json()) as { id: number }).id
    expect((await put('Second draft')).status).toBe(200)
    const restore = await fetch(`${s.url}/api/rooms/${room}/versions/${version}/restore`, { method: 'POST', headers: auth })
    expect(restore.status).toBe(200)
    const before = ((await restore.json()) as { before: { id: number } }).before.id
    const events = await until(() => r.accepted().find((e) => e.event.type === 'document.restored')?.event, 'document.restored')
    expect(events).toMatchObject({ room, version, before, authors: ['erin'] })
    expect(events.seq!.from).toBeGreaterThan(0)
  })

  it('debounce: changes closer together than WEBHOOK_DEBOUNCE_MS make one document.changed covering all their rows', { timeout: 30_000 }, async () => {
    const r = await receiver()
    const s = await webhookServer(store, pgUrl, r.url, { WEBHOOK_DEBOUNCE_MS: '2500', WEBHOOK_MAX_WAIT_MS: '600000' }, cleanups)
    for (let i = 0; i < 5; i++) await write(s.url, 'burst')
    const [created, changed] = await r.waitFor(2)
    expect(created!.event.type).toBe('room.created')
    expect(changed!.event.type).toBe('document.changed')
    // One event for the five rows (seqs are taken in commit order; on one server nothing else writes).
    expect(changed!.event.seq).toEqual({ from: created!.event.seq!.from, to: created!.event.seq!.from + 4 })
    await write(s.url, 'burst')
    const all = await r.waitFor(3)
    expect(all.map((x) => x.event.type)).toEqual(['room.created', 'document.changed', 'document.changed'])
    expect(all[2]!.event.seq!.from).toBe(changed!.event.seq!.to + 1)
  })

  it('a busy room still gets document.changed every WEBHOOK_MAX_WAIT_MS although it is never quiet for WEBHOOK_DEBOUNCE_MS (writes without pause)', { timeout: 30_000 }, async () => {
    const r = await receiver()
    const s = await webhookServer(store, pgUrl, r.url, { WEBHOOK_DEBOUNCE_MS: '500', WEBHOOK_MAX_WAIT_MS: '500' }, cleanups)
    let writes = 0
    await until(
      async () => {
        await write(s.url, 'busy')
        writes++
        return r.accepted().filter((x) => x.event.type === 'document.changed').length >= 2
      },
      'two document.changed while writing without pause',
      20_000,
    )
    const changed = r.accepted().filter((x) => x.event.type === 'document.changed').map((x) => x.event.seq!)
    expect(changed[1]!.from).toBe(changed[0]!.to + 1)
    expect(writes).toBeGreaterThan(2)
  })

  it('a receiver that is down gets the event again (same id) after a backoff, and the room waits for it: order holds', { timeout: 30_000 }, async () => {
    // Down for the first two requests.
    const r = await receiver((n) => (n < 2 ? 503 : 200))
    const s = await webhookServer(store, pgUrl, r.url, { WEBHOOK_DEBOUNCE_MS: '50', WEBHOOK_MAX_WAIT_MS: '100' }, cleanups)
    await write(s.url, 'flaky')
    await r.waitFor(1, 'room.created delivered after two failures')
    await write(s.url, 'flaky')
    const got = await r.waitFor(2, 'document.changed')
    expect(got.map((x) => x.event.type)).toEqual(['room.created', 'document.changed'])
    expect(r.all.slice(0, 3).map((x) => x.event.id)).toEqual([got[0]!.event.id, got[0]!.event.id, got[0]!.event.id])
    expect(r.all.slice(0, 3).map((x) => x.status)).toEqual([503, 503, 200])
    // Each attempt is signed with its own time.
    expect(r.all.every((x) => x.verified)).toBe(true)
    expect(await metricValue(s.url, 'tandem_webhooks_retried_total')).toBe(2)
    await until(async () => (await metricValue(s.url, 'tandem_webhooks_queue_depth')) === 0, 'the outbox empty')
  })

  it('a receiver that never answers does not hold up editing: writes to many rooms are stored while its requests hang', { timeout: 30_000 }, async () => {
    const r = await receiver(() => 0)
    const s = await webhookServer(store, pgUrl, r.url, { WEBHOOK_DEBOUNCE_MS: '10', WEBHOOK_MAX_WAIT_MS: '20', WEBHOOK_TIMEOUT_MS: '60000' }, cleanups)
    // More rooms than deliveries in flight (16): every one of them has an event waiting.
    const rooms = Array.from({ length: 24 }, (_, i) => `stuck-${i}`)
    for (let round = 0; round < 3; round++) await Promise.all(rooms.map((room) => write(s.url, room)))
    await until(() => r.all.length >= 16, 'the receiver holding 16 requests')
    await Promise.all(rooms.map((room) => write(s.url, room)))
    // In flight at most 16 at once, whatever the backlog.
    expect(r.all.length).toBe(16)
    expect(await metricValue(s.url, 'tandem_webhooks_queue_depth')).toBeGreaterThanOrEqual(rooms.length)
  })

  it('after WEBHOOK_MAX_ATTEMPTS failures an event is kept as dead (counted) and no longer holds the room back', { timeout: 30_000 }, async () => {
    const r = await receiver(() => 500)
    const s = await webhookServer(store, pgUrl, r.url, { WEBHOOK_DEBOUNCE_MS: '600000', WEBHOOK_MAX_WAIT_MS: '600000', WEBHOOK_MAX_ATTEMPTS: '2' }, cleanups)
    await write(s.url, 'dead')
    await until(async () => (await metricValue(s.url, 'tandem_webhooks_failed_total')) === 1, 'room.created given up after 2 attempts')
    expect(r.all.map((x) => x.event.type)).toEqual(['room.created', 'room.created'])
    r.setAnswer(() => 200)
    // DELETE flushes the room's pending changes: document.changed, then room.deleted, after the dead event.
    expect((await fetch(`${s.url}/api/rooms/dead`, { method: 'DELETE' })).status).toBe(204)
    const got = await r.waitFor(2)
    expect(got.map((x) => x.event.type)).toEqual(['document.changed', 'room.deleted'])
    await until(async () => (await metricValue(s.url, 'tandem_webhooks_queue_depth')) === 0, 'the outbox empty')
  })

  it('DELETE /api/rooms/<room>: the changes not yet announced, then room.deleted; a later write is room.created again', { timeout: 30_000 }, async () => {
    const r = await receiver()
    const s = await webhookServer(store, pgUrl, r.url, { WEBHOOK_DEBOUNCE_MS: '600000', WEBHOOK_MAX_WAIT_MS: '600000' }, cleanups)
    await write(s.url, 'gone')
    await write(s.url, 'gone')
    await r.waitFor(1)
    expect((await fetch(`${s.url}/api/rooms/gone`, { method: 'DELETE' })).status).toBe(204)
    const got = await r.waitFor(3)
    expect(got.map((x) => x.event.type)).toEqual(['room.created', 'document.changed', 'room.deleted'])
    expect(got[1]!.event.seq!.to).toBe(got[0]!.event.seq!.from + 1)
    // Deleting a room that has nothing stored announces nothing; writing it again creates it again.
    expect((await fetch(`${s.url}/api/rooms/never`, { method: 'DELETE' })).status).toBe(204)
    await write(s.url, 'gone')
    const again = await r.waitFor(4)
    expect(again[3]!.event.type).toBe('room.created')
    expect(again.some((x) => x.event.room === 'never')).toBe(false)
  })
})
