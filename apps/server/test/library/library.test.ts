import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { pino } from 'pino'
import { ConfigError, createTandemServer, type ChangeInfo, type ConnectionInfo, type TandemServer, type TandemServerOptions } from '../../src/index.js'
import { createMemoryStore } from '../../src/store/memory.js'
import type { DocStore } from '../../src/store/types.js'
import { synced, text, upgradeStatus } from '../helpers/clients.js'
import { removeDir, tempDir } from '../helpers/server.js'
import { until } from '../helpers/wait.js'

/** The app's own sessions: a cookie `sid` naming one of these. */
const SESSIONS: Record<string, { user: string; access: 'read' | 'write' }> = {
  alice: { user: 'alice', access: 'write' },
  bob: { user: 'bob', access: 'read' },
}
const sessionOf = (req: IncomingMessage) => /(?:^|;\s*)sid=([^;]+)/.exec(req.headers.cookie ?? '')?.[1]
const cookieAuth: TandemServerOptions['authenticate'] = (req) => SESSIONS[sessionOf(req) ?? ''] ?? false

interface Mounted {
  tandem: TandemServer
  http: Server
  url: string
  wsUrl: string
  logs: string[]
  close(): Promise<void>
}

const cleanup: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** Tandem mounted on an app's own node:http server on port 0, logging into `logs`. */
async function mount(options: TandemServerOptions = {}): Promise<Mounted> {
  const logs: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString())
      cb()
    },
  })
  const dataDir = tempDir()
  const tandem = await createTandemServer({ dataDir, logger: pino({ level: 'info' }, sink), ...options })
  const http = createServer((req, res) => tandem.handleRequest(req, res, () => res.end('app page')))
  http.on('upgrade', (req, socket, head) => tandem.handleUpgrade(req, socket, head))
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const { port } = http.address() as AddressInfo
  let closed = false
  const m: Mounted = {
    tandem,
    http,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    logs,
    async close() {
      if (closed) return
      closed = true
      await tandem.close()
      await new Promise<void>((resolve) => http.close(() => resolve()))
      removeDir(dataDir)
    },
  }
  cleanup.push(() => m.close())
  return m
}

/** A y-websocket client whose handshake carries the app's session cookie. */
function client(wsUrl: string, room: string, sid: string | undefined, doc = new Y.Doc()) {
  const headers = sid ? { cookie: `sid=${sid}` } : {}
  class CookieSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers })
    }
  }
  const provider = new WebsocketProvider(wsUrl, room, doc, { WebSocketPolyfill: CookieSocket as never, disableBc: true })
  cleanup.push(() => provider.destroy())
  return { doc, provider }
}

const post = (url: string, sid: string | undefined, body: Uint8Array) =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream', ...(sid ? { cookie: `sid=${sid}` } : {}) }, body })

function edit(text: string): Uint8Array {
  const d = new Y.Doc()
  d.getText('t').insert(0, text)
  return Y.encodeStateAsUpdate(d)
}

describe('options', () => {
  it('are the environment variables in camelCase, checked by the same parser: a bad one throws naming the option', async () => {
    const bad = async (options: Record<string, unknown>) => {
      try {
        const s = await createTandemServer({ store: 'memory', logLevel: 'silent', ...(options as TandemServerOptions) })
        await s.close()
      } catch (err) {
        return err
      }
      throw new Error(`accepted ${JSON.stringify(options)}`)
    }
    const tooSmall = await bad({ maxPayloadBytes: 10 })
    expect(tooSmall).toBeInstanceOf(ConfigError)
    expect(tooSmall).toMatchObject({ variable: 'maxPayloadBytes' })
    expect(String(tooSmall)).toMatch(/maxPayloadBytes: must be between/)
    expect(await bad({ pingIntervalMs: 1.5 })).toMatchObject({ variable: 'pingIntervalMs' })
    expect(String(await bad({ maxPayload: 5000 }))).toMatch(/maxPayload: is not an option/)
    expect(await bad({ store: 'mongo' })).toMatchObject({ variable: 'store' })
    expect(await bad({ hookTimeoutMs: 0 })).toMatchObject({ variable: 'hookTimeoutMs' })
    expect(await bad({ onChange: 'nope' })).toMatchObject({ variable: 'onChange' })
    // Messages name the options too, not the variables.
    expect(String(await bad({ redisUrl: 'redis://127.0.0.1:1' }))).toMatch(/redisUrl: requires databaseUrl/)
    expect(await bad({ authSecret: 'x'.repeat(32), authenticate: () => false })).toMatchObject({ variable: 'authenticate' })
    expect(await bad({ allowedOrigins: ['not an origin'] })).toBeInstanceOf(ConfigError)
  })

  it('a good set of options starts a server of its own on listen(), as the CLI does', async () => {
    const tandem = await createTandemServer({ store: 'memory', logLevel: 'silent', port: 0, host: '127.0.0.1', maxPayloadBytes: 4096, allowedOrigins: ['https://app.example'] })
    cleanup.push(() => tandem.close())
    const { port } = await tandem.listen()
    const res = await fetch(`http://127.0.0.1:${port}/healthz`)
    expect(res.status).toBe(200)
    // allowedOrigins came through: a foreign page is refused at the upgrade.
    expect(await upgradeStatus(`ws://127.0.0.1:${port}/r`, { headers: { origin: 'https://evil.example' } })).toBe(403)
    expect(await upgradeStatus(`ws://127.0.0.1:${port}/r`, { headers: { origin: 'https://app.example' } })).toBe(101)
  })
})

describe('mounted on an app server, with its own sessions (authenticate)', () => {
  it('syncs two clients through the app server; the hook decides who connects and who may write, on sockets and /api alike', async () => {
    const m = await mount({ authenticate: cookieAuth })
    // Not Tandem's: the app's own route (next()).
    expect(await (await fetch(`${m.url}/hello`)).text()).toBe('app page')

    const a = client(m.wsUrl, 'doc', 'alice')
    const b = client(m.wsUrl, 'doc', 'bob')
    await synced(a.provider, 'alice synced')
    await synced(b.provider, 'bob synced')
    a.doc.getText('t').insert(0, 'from alice')
    await until(() => text(b.doc) === 'from alice', 'bob sees alice')
    // bob is read-only: his edit is refused, never relayed.
    b.doc.getText('u').insert(0, 'from bob')
    const c = client(m.wsUrl, 'doc', 'alice')
    await synced(c.provider, 'a third client synced')
    expect(text(c.doc)).toBe('from alice')
    expect(c.doc.getText('u').toString()).toBe('')

    // No session: 401 before any socket; an unknown room scope answer: 403.
    expect(await upgradeStatus(`${m.wsUrl}/doc`)).toBe(401)
    expect(await upgradeStatus(`${m.wsUrl}/doc`, { headers: { cookie: 'sid=mallory' } })).toBe(401)

    // /api honours the same answers.
    expect((await fetch(`${m.url}/api/rooms/doc/state`)).status).toBe(401)
    expect((await fetch(`${m.url}/api/rooms/doc/state`, { headers: { cookie: 'sid=bob' } })).status).toBe(200)
    expect((await post(`${m.url}/api/rooms/doc/updates`, 'bob', edit('x'))).status).toBe(403)
    expect((await post(`${m.url}/api/rooms/doc/updates`, 'alice', edit('via api'))).status).toBe(200)
    await until(() => text(b.doc).includes('via api'), 'the API write reaches bob')
  })

  it('room scope: an answer for another room is 403; "*" opens every room and the room list', async () => {
    const m = await mount({
      authenticate: (req) => (sessionOf(req) === 'scoped' ? { user: 's', access: 'write', room: 'mine' } : { user: 'all', access: 'read', room: '*' }),
    })
    expect(await upgradeStatus(`${m.wsUrl}/mine`, { headers: { cookie: 'sid=scoped' } })).toBe(101)
    expect(await upgradeStatus(`${m.wsUrl}/other`, { headers: { cookie: 'sid=scoped' } })).toBe(403)
    expect((await fetch(`${m.url}/api/rooms`, { headers: { cookie: 'sid=scoped' } })).status).toBe(403)
    expect((await fetch(`${m.url}/api/rooms`, { headers: { cookie: 'sid=any' } })).status).toBe(200)
  })

  it('a session with expiresAt is closed with 4001 when it ends, as a token at its exp', async () => {
    const m = await mount({ authenticate: () => ({ user: 'u', access: 'write', expiresAt: Date.now() + 300 }) })
    const ws = new WebSocket(`${m.wsUrl}/short`)
    const opened = new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
    await opened
    expect(await closed).toBe(4001)
    // One already past its end is not let in.
    const late = await mount({ authenticate: () => ({ user: 'u', access: 'write', expiresAt: Date.now() - 1 }) })
    expect(await upgradeStatus(`${late.wsUrl}/short`)).toBe(401)
  })
})

describe('hooks', () => {
  it('onChange: after the change is stored and relayed, with the seq and who wrote; onConnect / onDisconnect per socket', async () => {
    const changes: [string, ChangeInfo][] = []
    const events: string[] = []
    let store: DocStore | undefined
    const m = await mount({
      store: (store = createMemoryStore()),
      authenticate: cookieAuth,
      onChange: async (room, info) => {
        // Durable by now: the store already has it.
        const stored = await store!.load(room)
        expect(stored.updates.some((u) => u.seq === info.toSeq)).toBe(true)
        changes.push([room, info])
      },
      onConnect: (room, info: ConnectionInfo) => void events.push(`connect ${room} ${info.user} ${info.access}`),
      onDisconnect: (room, info) => void events.push(`disconnect ${room} ${info.user}`),
    })
    const a = client(m.wsUrl, 'watched', 'alice')
    await synced(a.provider)
    a.doc.getText('t').insert(0, 'hello')
    await until(() => changes.length >= 1, 'onChange')
    const [room, first] = changes[0]!
    expect(room).toBe('watched')
    expect(first).toMatchObject({ users: ['alice'], viaApi: false })
    expect(first.fromSeq).toBeGreaterThan(0)
    expect(first.toSeq).toBe(first.fromSeq)
    expect(first.bytes).toBeGreaterThan(0)
    expect((await post(`${m.url}/api/rooms/watched/updates`, 'alice', edit('api'))).status).toBe(200)
    await until(() => changes.some(([, i]) => i.viaApi), 'onChange for the API write')
    expect(changes.at(-1)![1].toSeq).toBeGreaterThan(changes[0]![1].toSeq)
    // The API write's author is the hook's user of that request.
    expect(changes.at(-1)![1].users).toEqual(['alice'])
    a.provider.destroy()
    await until(() => events.length === 2, 'connect and disconnect')
    expect(events).toEqual(['connect watched alice write', 'disconnect watched alice'])
    // The app's store is the app's: closing Tandem leaves it open.
    await m.close()
    const kept = await store.load('watched')
    expect(kept.snapshot !== null || kept.updates.length > 0).toBe(true)
    await store.close()
  })

  it('throwing, rejecting and never-settling notification hooks hurt nothing: edits sync, are stored, the failures are logged', async () => {
    let calls = 0
    const dataDir = tempDir()
    cleanup.push(() => removeDir(dataDir))
    const hostile = (n: number) => {
      calls++
      if (n % 3 === 0) throw new Error('hook threw')
      if (n % 3 === 1) return Promise.reject(new Error('hook rejected'))
      return new Promise<void>(() => {}) // never settles
    }
    let n = 0
    const m = await mount({
      dataDir,
      onChange: () => hostile(n++),
      onConnect: () => {
        throw new Error('onConnect threw')
      },
      onDisconnect: () => new Promise<void>(() => {}),
    })
    const a = client(m.wsUrl, 'r', undefined)
    const b = client(m.wsUrl, 'r', undefined)
    await synced(a.provider)
    await synced(b.provider)
    for (let i = 0; i < 6; i++) {
      a.doc.getText('t').insert(0, String(i))
      await until(() => text(b.doc) === text(a.doc), `edit ${i} relayed`)
    }
    await until(() => calls >= 6, 'onChange called for each change')
    await until(() => m.logs.some((l) => l.includes('hook rejected')) && m.logs.some((l) => l.includes('hook threw')) && m.logs.some((l) => l.includes('onConnect threw')), 'failures logged')
    const expected = text(a.doc)
    a.provider.destroy()
    b.provider.destroy()
    await m.close()
    // Stored: a new server on the same data dir has every edit.
    const again = await mount({ dataDir })
    const c = client(again.wsUrl, 'r', undefined)
    await synced(c.provider)
    expect(text(c.doc)).toBe(expected)
  })

  it('authenticate that throws is 500, one that hangs is 503 after hookTimeoutMs; the room keeps serving others', async () => {
    const m = await mount({
      hookTimeoutMs: 200,
      authenticate: (req) => {
        const sid = sessionOf(req)
        if (sid === 'throws') throw new Error('session store down')
        if (sid === 'hangs') return new Promise(() => {})
        if (sid === 'garbage') return { user: 42, access: 'admin' } as never
        return { user: 'ok', access: 'write' }
      },
    })
    const a = client(m.wsUrl, 'busy', 'fine')
    await synced(a.provider)
    expect(await upgradeStatus(`${m.wsUrl}/busy`, { headers: { cookie: 'sid=throws' } })).toBe(500)
    expect(await upgradeStatus(`${m.wsUrl}/busy`, { headers: { cookie: 'sid=hangs' } })).toBe(503)
    expect(await upgradeStatus(`${m.wsUrl}/busy`, { headers: { cookie: 'sid=garbage' } })).toBe(500)
    expect((await fetch(`${m.url}/api/rooms/busy/state`, { headers: { cookie: 'sid=hangs' } })).status).toBe(503)
    const b = client(m.wsUrl, 'busy', 'fine')
    await synced(b.provider)
    a.doc.getText('t').insert(0, 'still fine')
    await until(() => text(b.doc) === 'still fine', 'the room still relays')
    expect(m.logs.some((l) => l.includes('session store down'))).toBe(true)
  })
})
