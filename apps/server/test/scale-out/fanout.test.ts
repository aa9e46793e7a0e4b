import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as Y from 'yjs'
import { Registry } from 'prom-client'
import { createFanoutPromMetrics } from '../../src/fanout/redis-metrics.js'
import { createRedisFanout } from '../../src/fanout/redis.js'
import type { FanoutMetrics, RedisFanout, RedisFanoutOptions } from '../../src/fanout/redis-options.js'
import type { FanoutDelivery, FanoutMessage } from '../../src/fanout/types.js'
import { createTcpProxy, requireRedis, uniqueName, type TcpProxy } from '../helpers/services.js'
import { until } from '../helpers/wait.js'

/**
 * The Redis fan-out against the real Redis: each test its own key prefix; two fanout instances
 * play two servers. Outages are made per test (a TCP proxy we cut, or CLIENT KILL of this test's
 * own named connections), never by restarting the shared redis-server.
 */

let redisUrl = ''
beforeAll(async () => {
  redisUrl = await requireRedis()
})

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {})
})

interface Inbox {
  messages: FanoutMessage[]
  /** presence queries: another server subscribed to the room after us */
  queries: number
  onMessage: (m: FanoutDelivery) => void
  text(): string[]
}
function inbox(): Inbox {
  const box: Inbox = {
    messages: [],
    queries: 0,
    onMessage: (m) => {
      if (m.kind === 'presence-query') box.queries++
      else box.messages.push(m)
    },
    text: () => box.messages.map((m) => `${m.kind}:${Buffer.from(m.payload).toString()}`),
  }
  return box
}

function recorder() {
  const calls = { published: 0, received: 0, lags: [] as number[], dropped: [] as string[], reconnected: [] as string[], resync: [] as string[], peerGone: 0 }
  const metrics: FanoutMetrics = {
    published: () => calls.published++,
    received: (_k, lag) => {
      calls.received++
      calls.lags.push(lag)
    },
    dropped: (r) => calls.dropped.push(r),
    reconnected: (l) => calls.reconnected.push(l),
    resync: (r) => calls.resync.push(r),
    peerGone: () => calls.peerGone++,
  }
  return { calls, metrics }
}

async function server(prefix: string, opts: Partial<RedisFanoutOptions> = {}, waitReady = true): Promise<RedisFanout> {
  const f = createRedisFanout({ url: redisUrl, prefix, heartbeatMs: 100, ...opts })
  cleanups.push(() => f.close())
  if (waitReady) await f.ready()
  return f
}

function resyncs(f: RedisFanout) {
  const seen: string[][] = []
  f.onResync((rooms) => seen.push([...rooms]))
  return seen
}

const msg = (s: string, kind: FanoutMessage['kind'] = 'update'): FanoutMessage => ({ kind, payload: Buffer.from(s) })

async function admin(): Promise<Redis> {
  const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await r.connect()
  cleanups.push(() => r.quit())
  return r
}

/** CLIENT KILL of the named connection of this test's fanout (other tests' connections untouched). */
async function killConnection(r: Redis, name: string): Promise<void> {
  const list = (await r.client('LIST')) as string
  const line = list.split('\n').find((l) => l.includes(` name=${name} `))
  if (!line) throw new Error(`no Redis client named ${name}`)
  const id = /\bid=(\d+)/.exec(line)![1]!
  await r.client('KILL', 'ID', id)
}

describe('Redis fan-out', () => {
  it('a server subscribing to a room asks the servers already there for their presence (hello)', async () => {
    const prefix = uniqueName('hello')
    const a = await server(prefix)
    const b = await server(prefix)
    const [ia, ib] = [inbox(), inbox()]
    await a.subscribe('room', ia.onMessage)
    await b.subscribe('room', ib.onMessage)
    await until(() => ia.queries === 1, 'A was asked once B subscribed')
    expect(ib.queries).toBe(0) // nobody subscribed after B; a server never hears its own hello
    expect(ia.messages).toEqual([])
  })

  it('the hello is not lost when the subscription is acknowledged before the publisher link is up', async () => {
    const prefix = uniqueName('hello-late')
    const a = await server(prefix)
    const b = await server(prefix)
    const [ia, ib] = [inbox(), inbox()]
    await a.subscribe('room', ia.onMessage)
    // B's publisher goes down (it reconnects after >= 200 ms); its subscriber stays up.
    await killConnection(await admin(), b.connectionNames.pub)
    await until(async () => /publisher (?!ready)/.test((await b.health()).detail ?? ''), "B's publisher is down")
    await b.subscribe('room', ib.onMessage)
    expect((await b.health()).detail).toMatch(/publisher (?!ready)/) // acknowledged while the publisher is still down
    await until(() => ia.queries === 1, 'A was asked once B could publish again')
  })

  it("delivers A's message to B, never back to A, per room, byte-exact", async () => {
    const prefix = uniqueName('fo')
    const a = await server(prefix)
    const b = await server(prefix)
    const [ia, ib, ib2] = [inbox(), inbox(), inbox()]
    const room = 'café ☕/日本'
    await a.subscribe(room, ia.onMessage)
    await b.subscribe(room, ib.onMessage)
    await b.subscribe('other', ib2.onMessage)

    const binary = new Uint8Array([0, 1, 2, 255, 0])
    a.publish(room, { kind: 'update', payload: binary })
    a.publish(room, msg('aw', 'awareness'))
    await until(() => ib.messages.length === 2, 'B receives both')
    expect(Array.from(ib.messages[0]!.payload)).toEqual([0, 1, 2, 255, 0])
    expect(ib.messages[0]!.kind).toBe('update')
    expect(ib.text()[1]).toBe('awareness:aw')
    expect(ib2.messages).toEqual([])

    // A marker from B, published after B saw A's messages: if A were to get its own messages
    // back, they would arrive before this marker (Redis delivers in publish order).
    b.publish(room, msg('marker'))
    await until(() => ia.messages.length > 0, 'A receives the marker')
    expect(ia.text()).toEqual(['update:marker'])
  })

  it('isolates key prefixes (deployments and tests sharing one Redis)', async () => {
    const [p1, p2] = [uniqueName('fo'), uniqueName('fo')]
    const other = await server(p1)
    const b = await server(p2)
    const peer = await server(p2)
    const ib = inbox()
    await b.subscribe('r', ib.onMessage)
    other.publish('r', msg('other deployment'))
    peer.publish('r', msg('same deployment'))
    await until(() => ib.messages.length > 0, 'message within the prefix')
    // The other prefix's message was published first; had it leaked, it would have arrived first.
    expect(ib.text()).toEqual(['update:same deployment'])
  })

  it('unsubscribe stops delivery', async () => {
    const prefix = uniqueName('fo')
    const a = await server(prefix)
    const b = await server(prefix)
    const [ib, ib2] = [inbox(), inbox()]
    await b.subscribe('r', ib.onMessage)
    await b.subscribe('r2', ib2.onMessage)
    a.publish('r', msg('1'))
    await until(() => ib.messages.length === 1, 'first message')
    await b.unsubscribe('r')
    a.publish('r', msg('2'))
    a.publish('r2', msg('after'))
    await until(() => ib2.messages.length === 1, 'message on the other room')
    expect(ib.text()).toEqual(['update:1'])
  })

  it('counts published/received messages and lag', async () => {
    const prefix = uniqueName('fo')
    const ma = recorder()
    const mb = recorder()
    const a = await server(prefix, { metrics: ma.metrics })
    const b = await server(prefix, { metrics: mb.metrics })
    const ib = inbox()
    await b.subscribe('r', ib.onMessage)
    for (let i = 0; i < 5; i++) a.publish('r', msg(String(i)))
    await until(() => ib.messages.length === 5, 'five messages')
    await until(() => ma.calls.published === 5, 'publish acknowledgements')
    expect(mb.calls.received).toBe(5)
    for (const lag of mb.calls.lags) expect(lag).toBeGreaterThanOrEqual(0)
    expect(ib.text()).toEqual(['0', '1', '2', '3', '4'].map((s) => `update:${s}`))
  })

  it('exposes its counters through prom-client (GET /metrics)', async () => {
    const prefix = uniqueName('fo')
    const [ra, rb] = [new Registry(), new Registry()]
    const a = await server(prefix, { metrics: createFanoutPromMetrics(ra) })
    const b = await server(prefix, { metrics: createFanoutPromMetrics(rb) })
    const ib = inbox()
    await b.subscribe('r', ib.onMessage)
    a.publish('r', msg('u'))
    a.publish('r', msg('w', 'awareness'))
    await until(() => ib.messages.length === 2, 'both messages')
    await until(async () => /tandem_fanout_published_total\{kind="awareness"\} 1/.test(await ra.metrics()), 'published counted')
    const textA = await ra.metrics()
    const textB = await rb.metrics()
    expect(textA).toMatch(/tandem_fanout_published_total\{kind="update"\} 1/)
    expect(textB).toMatch(/tandem_fanout_received_total\{kind="update"\} 1/)
    expect(textB).toMatch(/tandem_fanout_received_total\{kind="awareness"\} 1/)
    expect(textB).toMatch(/tandem_fanout_lag_seconds_count 2/)
    for (const name of ['tandem_fanout_dropped_total', 'tandem_fanout_reconnects_total', 'tandem_fanout_resync_rooms_total', 'tandem_fanout_peers_gone_total']) {
      expect(textB).toContain(`# TYPE ${name} counter`)
    }
  })

  it('CLIENT KILL of the subscriber mid-stream: reconnects, resubscribes, onResync names the rooms', async () => {
    const prefix = uniqueName('fo')
    const a = await server(prefix)
    const mb = recorder()
    const b = await server(prefix, { metrics: mb.metrics })
    const seen = resyncs(b)
    const ib = inbox()
    await b.subscribe('r', ib.onMessage)
    await b.subscribe('idle', () => {})
    a.publish('r', msg('before'))
    await until(() => ib.messages.length === 1, 'message before the kill')

    await killConnection(await admin(), b.connectionNames.sub)
    await until(() => seen.length > 0, 'onResync after the reconnect')
    expect(seen[0]!.sort()).toEqual(['idle', 'r'])
    expect(mb.calls.reconnected).toContain('subscriber')
    expect(mb.calls.resync).toContain('reconnect')

    // Delivery resumed on the new connection.
    a.publish('r', msg('after'))
    await until(() => ib.messages.length === 2, 'message after the reconnect')
    expect(ib.text()).toEqual(['update:before', 'update:after'])
  })

  it('Redis unreachable for one server: local publishes queue in order, flush on reconnect, rooms resync', async () => {
    const prefix = uniqueName('fo')
    const proxy = await createTcpProxy(redisUrl)
    cleanups.push(() => proxy.close())
    const ma = recorder()
    const a = createRedisFanout({ url: proxy.url('redis:'), prefix, heartbeatMs: 100, metrics: ma.metrics })
    cleanups.push(() => a.close())
    await a.ready()
    const b = await server(prefix)
    const seenA = resyncs(a)
    const [ia, ib] = [inbox(), inbox()]
    await a.subscribe('r', ia.onMessage)
    await b.subscribe('r', ib.onMessage)

    await cutAndWaitDown(proxy, a)
    for (const s of ['q1', 'q2', 'q3']) a.publish('r', msg(s))
    b.publish('r', msg('missed by A'))
    expect((await a.health()).ok).toBe(false)
    expect((await a.health()).detail).toMatch(/3 message\(s\) queued/)

    await proxy.restore()
    await until(() => ib.messages.length === 3, 'queued messages reach B')
    expect(ib.text()).toEqual(['update:q1', 'update:q2', 'update:q3'])
    // A missed B's message while away: it is told to catch up from the store.
    await until(() => seenA.some((rooms) => rooms.includes('r')), 'A resyncs room r')
    expect(ia.text()).not.toContain('update:missed by A')
    expect(ma.calls.reconnected.sort()).toEqual(['publisher', 'subscriber'])
    await until(async () => (await a.health()).ok, 'A healthy again')
  })

  it('a full local queue drops the oldest and makes peers resync the room', async () => {
    const prefix = uniqueName('fo')
    const proxy = await createTcpProxy(redisUrl)
    cleanups.push(() => proxy.close())
    const ma = recorder()
    const a = createRedisFanout({ url: proxy.url('redis:'), prefix, heartbeatMs: 100, maxQueueMessages: 2, metrics: ma.metrics })
    cleanups.push(() => a.close())
    await a.ready()
    const b = await server(prefix)
    const seenB = resyncs(b)
    const ib = inbox()
    await b.subscribe('r', ib.onMessage)

    await cutAndWaitDown(proxy, a)
    for (const s of ['1', '2', '3']) a.publish('r', msg(s))
    expect(ma.calls.dropped).toEqual(['queue-full'])
    await proxy.restore()
    await until(() => seenB.some((rooms) => rooms.includes('r')), 'B told to resync r')
    expect(ib.text()).toEqual(['update:2', 'update:3'])
  })

  it('subscribe does not hang while Redis is unreachable; the room resyncs once the subscription exists', async () => {
    const prefix = uniqueName('fo')
    const proxy = await createTcpProxy(redisUrl)
    cleanups.push(() => proxy.close())
    await proxy.cut()
    const a = createRedisFanout({ url: proxy.url('redis:'), prefix, heartbeatMs: 100 })
    cleanups.push(() => a.close())
    const seen = resyncs(a)
    const ia = inbox()
    await a.subscribe('r', ia.onMessage) // resolves (after a short wait) although Redis is unreachable
    expect((await a.health()).ok).toBe(false)
    await proxy.restore()
    await until(() => seen.some((rooms) => rooms.includes('r')), 'late-subscribe resync')
    const b = await server(prefix)
    b.publish('r', msg('now live'))
    await until(() => ia.messages.length === 1, 'delivery after the late subscription')
  })

  it("a server that dies: its clients' presence is removed on the others, and its rooms resync", async () => {
    const prefix = uniqueName('fo')
    const proxy = await createTcpProxy(redisUrl)
    cleanups.push(() => proxy.close())
    // A reaches Redis through the proxy: cutting it for good is A dying without a goodbye.
    const a = createRedisFanout({ url: proxy.url('redis:'), prefix, heartbeatMs: 100 })
    cleanups.push(() => a.close())
    await a.ready()
    const mb = recorder()
    const b = await server(prefix, { metrics: mb.metrics })
    const c = await server(prefix)
    const seenB = resyncs(b)

    // B applies fan-out awareness to a real y-protocols Awareness, as a room does.
    const bDoc = new Y.Doc()
    const bAwareness = new awarenessProtocol.Awareness(bDoc)
    bAwareness.setLocalState(null) // a server is not a participant
    cleanups.push(async () => bAwareness.destroy())
    await b.subscribe('r', (m) => {
      if (m.kind === 'awareness') awarenessProtocol.applyAwarenessUpdate(bAwareness, m.payload, 'fanout')
    })
    await a.subscribe('r', () => {})

    // Two clients on A; client 2 later moves to server C (a newer clock for the same client id).
    const client1 = new awarenessProtocol.Awareness(new Y.Doc())
    const client2 = new awarenessProtocol.Awareness(new Y.Doc())
    cleanups.push(async () => {
      client1.destroy()
      client2.destroy()
    })
    client1.setLocalState({ user: 'one' })
    client2.setLocalState({ user: 'two' })
    a.publish('r', { kind: 'awareness', payload: awarenessProtocol.encodeAwarenessUpdate(client1, [client1.clientID]) })
    a.publish('r', { kind: 'awareness', payload: awarenessProtocol.encodeAwarenessUpdate(client2, [client2.clientID]) })
    await until(() => bAwareness.getStates().size === 2, 'both states on B')
    client2.setLocalState({ user: 'two', moved: true })
    c.publish('r', { kind: 'awareness', payload: awarenessProtocol.encodeAwarenessUpdate(client2, [client2.clientID]) })
    await until(() => (bAwareness.getStates().get(client2.clientID) as { moved?: boolean } | undefined)?.moved, 'client 2 via C')

    await proxy.cut() // A is gone: no more heartbeats, no goodbye
    await until(() => !bAwareness.getStates().has(client1.clientID), "A's client removed on B", 5_000)
    expect(bAwareness.getStates().has(client2.clientID)).toBe(true) // the moved client stays
    expect(mb.calls.peerGone).toBe(1)
    await until(() => seenB.some((rooms) => rooms.includes('r')), 'B resyncs the rooms A wrote to')
    expect(mb.calls.resync).toContain('peer-gone')
  })

  it('a server that closes says goodbye: its presence goes at once', async () => {
    const prefix = uniqueName('fo')
    // A long heartbeat: only the goodbye can explain a prompt removal.
    const a = await server(prefix, { heartbeatMs: 60_000 })
    const b = await server(prefix, { heartbeatMs: 60_000 })
    const bAwareness = new awarenessProtocol.Awareness(new Y.Doc())
    cleanups.push(async () => bAwareness.destroy())
    await b.subscribe('r', (m) => {
      if (m.kind === 'awareness') awarenessProtocol.applyAwarenessUpdate(bAwareness, m.payload, 'fanout')
    })
    await a.subscribe('r', () => {})
    const client = new awarenessProtocol.Awareness(new Y.Doc())
    cleanups.push(async () => client.destroy())
    client.setLocalState({ user: 'x' })
    a.publish('r', { kind: 'awareness', payload: awarenessProtocol.encodeAwarenessUpdate(client, [client.clientID]) })
    await until(() => bAwareness.getStates().has(client.clientID), 'state on B')
    await a.close()
    await until(() => !bAwareness.getStates().has(client.clientID), 'removed after goodbye', 3_000)
  })

  it('ignores malformed messages on its channels', async () => {
    const prefix = uniqueName('fo')
    const mb = recorder()
    const b = await server(prefix, { metrics: mb.metrics })
    const ib = inbox()
    await b.subscribe('r', ib.onMessage)
    const r = await admin()
    await r.publish(`${prefix}:room:r`, Buffer.from([9, 9, 9]))
    await r.publish(`${prefix}:servers`, 'garbage')
    const a = await server(prefix)
    a.publish('r', msg('valid'))
    await until(() => ib.messages.length === 1, 'the valid message')
    expect(mb.calls.dropped).toEqual(['malformed', 'malformed'])
  })
})

async function cutAndWaitDown(proxy: TcpProxy, f: RedisFanout): Promise<void> {
  await proxy.cut()
  await until(async () => !(await f.health()).ok, 'fan-out notices the outage')
}
