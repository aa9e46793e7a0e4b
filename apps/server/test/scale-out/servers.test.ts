import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { Redis } from 'ioredis'
import { SyncProvider } from '@tandem/sync/provider'
import { text, yws } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { loadConfig } from '../../src/config.js'
import { createCluster, requirePostgres, requireRedis } from '../helpers/services.js'

/**
 * Several BUILT servers (`node apps/server/dist/main.js`, PORT=0) sharing one PostgreSQL schema
 * and one Redis key prefix, both unique to the test. Clients connect to different servers.
 * Configuration used: DATABASE_URL + PG_SCHEMA, REDIS_URL + REDIS_PREFIX, FANOUT_HEARTBEAT_MS
 * (short, so a dead server is noticed quickly).
 */

let pgUrl = ''
let redisUrl = ''
beforeAll(async () => {
  pgUrl = await requirePostgres()
  redisUrl = await requireRedis()
})

const cleanups: (() => unknown)[] = []
const cleanupsAfterAll: (() => unknown)[] = []
afterAll(() => cleanupsAfterAll.forEach((f) => f()))
afterEach(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => {})
})

const cluster = () => createCluster({ pg: pgUrl, redis: redisUrl }, cleanups)

type Urls = string | string[]
function client(urls: Urls, room: string, name: string) {
  const doc = new Y.Doc()
  const provider = new SyncProvider({
    url: urls,
    room,
    doc,
    WebSocket,
    initialBackoffMs: 50,
    maxBackoffMs: 500,
  })
  provider.awareness.setLocalStateField('user', { name })
  cleanups.push(() => provider.destroy())
  return { doc, provider, awareness: provider.awareness, text: () => text(doc), insert: (s: string) => doc.getText('t').insert(doc.getText('t').length, s) }
}
type Client = ReturnType<typeof client>

const userOf = (viewer: Client, other: Client) =>
  (viewer.awareness.getStates().get(other.doc.clientID) as { user?: { name: string } } | undefined)?.user?.name

/** Types `${tag}${i};` every few ms until stopped: editing that goes on while servers fail. */
function typist(c: Client, tag: string) {
  let i = 0
  const typed: string[] = []
  const timer = setInterval(() => {
    const piece = `${tag}${i++};`
    c.insert(piece)
    typed.push(piece)
  }, 5)
  cleanups.push(() => clearInterval(timer))
  return { typed, stop: () => clearInterval(timer) }
}

/** What these tests read of /healthz. */
interface Health {
  status: number
  body: { store: { kind: string; ok: boolean }; fanout: { kind: string; ok: boolean } }
}

async function fetchJson(url: string): Promise<Health> {
  const res = await fetch(url)
  return { status: res.status, body: (await res.json()) as Health['body'] }
}

describe('several servers act as one (PostgreSQL store + Redis fan-out)', () => {
  // Regression: a server that opened a room after another server's clients announced their
  // presence only learned it at their next renewal (up to 15 s); now it asks on subscribe (hello).
  it('a server opening a room later learns the presence already there at once', async () => {
    const c = await cluster()
    const [a, b] = await Promise.all([c.start(), c.start()])
    const room = 'late presence'
    const onA = client(a.wsUrl, room, 'Ann')
    await until(() => onA.provider.synced, 'A synced')
    const onB = client(b.wsUrl, room, 'Bob')
    await until(() => onB.provider.synced, 'B synced')
    await until(() => userOf(onB, onA) === 'Ann', 'Ann visible on B without waiting for a renewal', 5_000)
  })

  it('clients of one room on two servers converge both ways, edits and awareness', async () => {
    const c = await cluster()
    const [a, b] = await Promise.all([c.start(), c.start()])
    const room = 'shared ☕ doc'
    const onA = client(a.wsUrl, room, 'Ann')
    const onB = client(b.wsUrl, room, 'Bob')
    const stockOnB = yws(b.wsUrl, room)
    cleanups.push(stockOnB.destroy)
    await until(() => onA.provider.synced && onB.provider.synced && stockOnB.provider.synced, 'all synced')

    onA.insert('from A; ')
    await until(() => onB.text() === 'from A; ' && text(stockOnB.doc) === 'from A; ', 'A → B')
    onB.insert('from B; ')
    stockOnB.doc.getText('t').insert(0, 'stock; ')
    await until(() => onA.text().length === 23 && onA.text() === onB.text() && onA.text() === text(stockOnB.doc), 'B → A')

    await until(() => userOf(onB, onA) === 'Ann' && userOf(onA, onB) === 'Bob', 'awareness both ways')
    onA.awareness.setLocalStateField('user', { name: 'Ann (renamed)' })
    await until(() => userOf(onB, onA) === 'Ann (renamed)', 'awareness change crosses servers')
    // A client leaving one server disappears from the other.
    onB.provider.destroy()
    await until(() => !onA.awareness.getStates().has(onB.doc.clientID), 'departure crosses servers')

    const health = await fetchJson(`${a.url}/healthz`)
    expect(health.status).toBe(200)
    expect(health.body.store).toMatchObject({ kind: 'postgres', ok: true })
    expect(health.body.fanout).toMatchObject({ kind: 'redis', ok: true })
  })

  it('kill -9 of one server mid-editing: its clients move to the other and nothing relayed is lost', async () => {
    const c = await cluster()
    const [a, b] = await Promise.all([c.start(), c.start()])
    const room = 'failover'
    // The editor knows both servers (SyncProvider rotates through the list on reconnect).
    const editor = client([a.wsUrl, b.wsUrl], room, 'Eve')
    const watcher = client(b.wsUrl, room, 'Wat')
    // A stock y-websocket client that only knows server A: it cannot come back, so its presence
    // must vanish from B's clients on its own (B notices A's silence).
    const stranded = yws(a.wsUrl, room)
    cleanups.push(stranded.destroy)
    stranded.provider.awareness.setLocalStateField('user', { name: 'Stranded' })
    await until(() => editor.provider.synced && watcher.provider.synced && stranded.provider.synced, 'synced')
    await until(() => userOf(watcher, { doc: stranded.doc } as Client) === 'Stranded', 'stranded presence on B')

    const t = typist(editor, 'e')
    // Mid-editing: B's watcher has seen part of the stream (relayed through A and Redis).
    await until(() => watcher.text().split(';').length > 20, 'edits flowing A → B')
    const seenBeforeKill = watcher.text()
    a.child.kill('SIGKILL')
    await a.exited
    // The editor keeps typing while it reconnects to B.
    await until(() => editor.provider.synced === false, 'editor noticed the loss')
    await until(() => editor.provider.synced, 'editor reconnected (to B)', 15_000)
    const countAtReconnect = t.typed.length
    await until(() => t.typed.length > countAtReconnect + 10, 'more edits after the failover')
    t.stop()

    const all = t.typed.join('')
    await until(() => editor.text() === all && watcher.text() === all, 'editor and watcher converge on every edit', 15_000)
    // Everything the watcher had before the kill is still there, in place.
    expect(watcher.text().startsWith(seenBeforeKill)).toBe(true)
    // The stranded client's presence left B's clients well within the 30 s awareness timeout.
    await until(() => !watcher.awareness.getStates().has(stranded.doc.clientID), 'stranded presence removed', 10_000)
    expect(userOf(watcher, editor)).toBe('Eve')

    // Durable: a fresh server on the same store serves every edit.
    const c2 = await c.start()
    const res = await fetch(`${c2.url}/api/rooms/${encodeURIComponent(room)}/state`)
    const doc = new Y.Doc()
    Y.applyUpdate(doc, new Uint8Array(await res.arrayBuffer()))
    expect(text(doc)).toBe(all)
  })

  it('Redis connections killed mid-editing (as in a Redis restart): servers reconnect, resync from the store and converge', async () => {
    const c = await cluster()
    const [a, b] = await Promise.all([c.start(), c.start()])
    const room = 'outage'
    const onA = client(a.wsUrl, room, 'Ann')
    const onB = client(b.wsUrl, room, 'Bob')
    await until(() => onA.provider.synced && onB.provider.synced, 'synced')
    onA.insert('warm-up;')
    await until(() => onB.text() === 'warm-up;', 'fan-out works before the outage')

    const admin = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
    cleanups.push(() => admin.quit())
    // Only this test's servers' links (connection names carry the key prefix), never other tests'.
    const killOurs = async (kind: 'sub' | 'pub' | 'all') => {
      const list = (await admin.client('LIST')) as string
      const ids = list
        .split('\n')
        .filter((l) => new RegExp(` name=${c.prefix}:[^ ]+:(${kind === 'all' ? 'sub|pub' : kind}) `).test(l))
        .map((l) => /\bid=(\d+)/.exec(l)![1]!)
      for (const id of ids) await admin.client('KILL', 'ID', id)
      return ids.length
    }

    // 1. A gap only a store resync can close: B's subscriber is cut, and A's next edit is published
    //    while B is away (B's first reconnect attempt comes after 200 ms).
    expect(await killOurs('sub')).toBe(2)
    onA.insert('during-gap;')
    await until(() => onB.text().includes('during-gap;'), 'B catches up from the store', 10_000)
    // The servers logged why (stderr, JSON lines).
    await until(() => /rooms need a resync/.test(b.stderr()), 'B logged the resync')

    // 2. Both servers lose every Redis link repeatedly while both sides keep typing.
    const ta = typist(onA, 'a')
    const tb = typist(onB, 'b')
    const bothHealthy = async () => {
      const [ha, hb] = await Promise.all([fetchJson(`${a.url}/healthz`), fetchJson(`${b.url}/healthz`)])
      return ha.body.fanout.ok && hb.body.fanout.ok
    }
    for (let round = 0; round < 3; round++) {
      await until(bothHealthy, `links back before outage ${round + 1}`)
      const before = ta.typed.length + tb.typed.length
      expect(await killOurs('all')).toBe(4)
      await until(() => ta.typed.length + tb.typed.length > before + 10, `typing through outage ${round + 1}`)
    }
    ta.stop()
    tb.stop()
    await until(() => onA.text() === onB.text() && ta.typed.every((p) => onA.text().includes(p)) && tb.typed.every((p) => onA.text().includes(p)), 'convergence after the outages', 15_000)
    await until(bothHealthy, 'fan-out healthy again')
  })
})

describe('scale-out configuration', () => {
  const base = { DATA_DIR: tempDirForConfig(), DATABASE_URL: 'postgres://u@h/db', REDIS_URL: 'redis://h:6379' }
  const load = (env: Record<string, string>) => loadConfig({ ...base, ...env }, { editorDir: '' })

  it('defaults: schema tandem, prefix tandem, heartbeat 5 s', () => {
    expect(load({})).toMatchObject({ pgSchema: 'tandem', redisPrefix: 'tandem', fanoutHeartbeatMs: 5000, store: 'postgres' })
  })

  it('names the variable when a value is unusable', () => {
    expect(() => load({ PG_SCHEMA: 'Bad-Name' })).toThrow(/PG_SCHEMA/)
    expect(() => load({ PG_SCHEMA: 'x"; drop' })).toThrow(/PG_SCHEMA/)
    expect(() => load({ REDIS_PREFIX: 'has space' })).toThrow(/REDIS_PREFIX/)
    // A peer is declared gone after 3 heartbeats: that must stay under the 30 s awareness timeout.
    expect(() => load({ FANOUT_HEARTBEAT_MS: '10000' })).toThrow(/FANOUT_HEARTBEAT_MS/)
    expect(load({ PG_SCHEMA: 'tenant_1', REDIS_PREFIX: 'prod:eu', FANOUT_HEARTBEAT_MS: '1000' })).toMatchObject({
      pgSchema: 'tenant_1',
      redisPrefix: 'prod:eu',
      fanoutHeartbeatMs: 1000,
    })
  })

  it('REDIS_URL without DATABASE_URL is refused', () => {
    expect(() => loadConfig({ DATA_DIR: base.DATA_DIR, REDIS_URL: 'redis://h:6379' }, { editorDir: '' })).toThrow(/REDIS_URL.*DATABASE_URL/)
  })
})

function tempDirForConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-cfg-'))
  cleanupsAfterAll.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
