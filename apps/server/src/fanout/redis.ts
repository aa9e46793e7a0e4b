import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { DEFAULT_FANOUT_HEARTBEAT_MS, DEFAULT_REDIS_PREFIX } from '../defaults.js'
import type { FanoutDelivery, FanoutKind } from './types.js'
import { WireType, decodeWire, encodeWire } from './redis-wire.js'
import { PresenceLedger } from './redis-presence.js'
import { createLivenessProbe } from './redis-liveness.js'
import { createPublisher } from './redis-publisher.js'
import { createPeerWatch, type PeerServer } from './redis-peers.js'
import { createClientCounts } from './redis-clients.js'
import { FanoutReason } from '../health/model.js'
import type { FanoutMetrics, RedisFanout, RedisFanoutOptions } from './redis-options.js'

/**
 * Cross-server fan-out over Redis pub/sub (REDIS_URL), one channel per room.
 *
 * What it guarantees, and how:
 * - A server never re-applies its own messages: each carries its sender's id; own ones are dropped
 *   on receipt (Redis has no "no-local" subscribe).
 * - subscribe() resolves after Redis acknowledged SUBSCRIBE, so the registry can subscribe BEFORE it
 *   loads the room from the store and nothing committed in between is missed.
 * - Pub/sub is at-most-once and the store is the source of truth. Whenever messages may have been
 *   missed, `onResync` names the rooms to catch up from the store: after the subscriber link comes
 *   back; after a subscription acknowledged late (subscribe gave up waiting so a room could open
 *   during an outage); when a peer stops heartbeating (it may have died between commit and
 *   publish); when a peer announces it dropped messages from its local queue.
 * - Redis down: publish() is fire-and-forget into a bounded local queue (oldest dropped first,
 *   the affected rooms flagged), flushed in order on reconnect, then a `resync` notice goes out for
 *   every room that lost messages. Local relay never waits for Redis.
 * - Presence of a dead server's clients: every server heartbeats on one control channel. A peer
 *   silent for `peerTimeoutMs` (default 3 heartbeats, well under y-protocols' 30 s awareness
 *   timeout) is declared gone, and this fan-out delivers, to each room, an awareness update that
 *   removes the clients that peer had announced, at the clock last seen (so a client that has
 *   already reconnected to another server is not removed).
 * - A stalled Redis (paused, partitioned: links connected, nothing crossing) is noticed by a probe
 *   round trip through Redis (redis-liveness.ts), logged once when it starts and once when it
 *   ends, and reported by health().
 */
interface RoomEntry {
  onMessage: (msg: FanoutDelivery) => void
  acked: boolean
  /** subscribe() stopped waiting before Redis acknowledged: resync once it does */
  resyncOnAck: boolean
  waiters: (() => void)[]
}



const KIND_OF: Record<number, FanoutKind | undefined> = { [WireType.Update]: 'update', [WireType.Awareness]: 'awareness', [WireType.Deleted]: 'deleted' }
const TYPE_OF: Record<FanoutKind, WireType> = { update: WireType.Update, awareness: WireType.Awareness, deleted: WireType.Deleted }

export function createRedisFanout(opts: RedisFanoutOptions): RedisFanout {
  const prefix = opts.prefix ?? DEFAULT_REDIS_PREFIX
  const serverId = opts.serverId ?? randomUUID()
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_FANOUT_HEARTBEAT_MS
  const peerTimeoutMs = opts.peerTimeoutMs ?? 3 * heartbeatMs
  const subscribeTimeoutMs = opts.subscribeTimeoutMs ?? 5_000
  const probeIntervalMs = opts.probeIntervalMs ?? Math.min(heartbeatMs, 1_000)
  const stallAfterMs = opts.stallAfterMs ?? Math.max(3 * probeIntervalMs, 1_000)
  const maxQueueMessages = opts.maxQueueMessages ?? 10_000
  const maxQueueBytes = opts.maxQueueBytes ?? 64 * 1024 * 1024
  const metrics = opts.metrics ?? {}
  const log = opts.log

  const roomPrefix = `${prefix}:room:`
  const controlChannel = `${prefix}:servers`
  /** this server's own probes (see redis-liveness.ts); nobody else subscribes to it */
  const probeChannel = `${prefix}:probe:${serverId}`
  const probeChannelBuf = Buffer.from(probeChannel)
  const channelOf = (room: string) => roomPrefix + room
  const connectionNames = { sub: `${prefix}:${serverId}:sub`, pub: `${prefix}:${serverId}:pub` }

  const common = {
    // Reconnect forever with a capped backoff; an outage must end in recovery, not a dead server.
    retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    enableReadyCheck: true,
    lazyConnect: false,
  }
  // Subscriber: we (re)subscribe ourselves on every 'ready', so we know when a resubscription was
  // acknowledged and can resync right after it; ioredis' silent autoResubscribe would hide that.
  const sub = new Redis(opts.url, { ...common, connectionName: connectionNames.sub, autoResubscribe: false, maxRetriesPerRequest: null })
  // Publisher: no ioredis offline queue (unbounded); our own bounded queue instead.
  const pub = new Redis(opts.url, { ...common, connectionName: connectionNames.pub, enableOfflineQueue: false, maxRetriesPerRequest: 1 })

  const rooms = new Map<string, RoomEntry>()
  const peers = createPeerWatch({ timeoutMs: peerTimeoutMs, onGone: (id, peer, why) => peerGone(id, peer, why) })
  /** room → awareness clientID → the peer that announced it and the clock last seen */
  const presence = new PresenceLedger()
  const resyncListeners = new Set<(rooms: readonly string[]) => void>()

  const clientCounts = createClientCounts({ redis: pub, keyOf: (id) => `${prefix}:clients:${id}`, serverId, ttlMs: peerTimeoutMs, log })
  const publisher = createPublisher(pub, { serverId, channelOf, controlChannel, maxQueueMessages, maxQueueBytes, metrics })
  const post = (q: Parameters<typeof publisher.post>[0]) => publisher.post(q)
  let closed = false
  let subEpoch = 0
  let subEverReady = false
  let pubEverReady = false
  const liveness = createLivenessProbe({
    pub,
    linksUp: () => pub.status === 'ready' && sub.status === 'ready' && !closed,
    channel: probeChannel,
    serverId,
    intervalMs: probeIntervalMs,
    stallAfterMs,
    log,
  })

  // ------------------------------------------------------------------------------------------
  // Resync notifications

  function emitResync(names: Iterable<string>, reason: Parameters<NonNullable<FanoutMetrics['resync']>>[0]): void {
    const list = [...new Set(names)].filter((r) => rooms.has(r))
    if (list.length === 0 || closed) return
    metrics.resync?.(reason, list.length)
    log?.info({ rooms: list.length, reason }, 'fan-out: rooms need a resync from the store')
    for (const cb of resyncListeners) {
      try {
        cb(list)
      } catch (err) {
        log?.error({ err }, 'fan-out resync listener threw')
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // Subscriber link

  function markAcked(room: string, entry: RoomEntry): void {
    if (rooms.get(room) !== entry) return
    entry.acked = true
    // Ask the peers already in this room for their clients' presence (see WireType.Hello). Queued
    // like any message when the publisher is not up yet (a server starting, its subscriber
    // acknowledged first): dropping it left the room without the presence already there until
    // each client renewed its state (up to 15 s).
    if (!closed) post({ room, buf: encodeWire(WireType.Hello, serverId), kind: undefined })
    const waiters = entry.waiters
    entry.waiters = []
    for (const w of waiters) w()
    if (entry.resyncOnAck) {
      entry.resyncOnAck = false
      emitResync([room], 'late-subscribe')
    }
  }

  sub.on('ready', () => {
    const epoch = ++subEpoch
    const reconnect = subEverReady
    subEverReady = true
    peers.hearing(performance.now())
    if (reconnect) {
      metrics.reconnected?.('subscriber')
      log?.info('fan-out: subscriber reconnected to Redis; resubscribing')
    }
    const snapshot = [...rooms.entries()]
    for (const [, e] of snapshot) e.acked = false
    sub
      .subscribe(controlChannel, probeChannel, ...snapshot.map(([room]) => channelOf(room)))
      .then(() => {
        if (epoch !== subEpoch || closed) return
        liveness.subscribed()
        for (const [room, e] of snapshot) markAcked(room, e)
        // Messages published while we were disconnected are gone for good: read them from the store.
        if (reconnect) emitResync(snapshot.map(([room]) => room), 'reconnect')
      })
      .catch((err: Error) => {
        // The link dropped again; the next 'ready' starts over.
        log?.debug({ err: err.message }, 'fan-out: resubscribe interrupted')
      })
  })

  sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
    if (channel.equals(probeChannelBuf)) return liveness.answered(message)
    const msg = decodeWire(message)
    if (!msg) {
      metrics.dropped?.('malformed')
      return
    }
    if (msg.sender === serverId) return
    const now = Date.now() // wall clock: the lag metric compares it with the publisher's sentAt
    const peer = peers.heard(msg.sender, performance.now())

    const ch = channel.toString('utf8')
    if (ch === controlChannel) {
      if (msg.type === WireType.Bye) peers.bye(msg.sender)
      return
    }
    if (!ch.startsWith(roomPrefix)) return
    const room = ch.slice(roomPrefix.length)
    const entry = rooms.get(room)
    if (!entry) return
    peer.rooms.add(room)
    if (msg.type === WireType.Resync) {
      emitResync([room], 'peer-dropped')
      return
    }
    if (msg.type === WireType.Hello) {
      try {
        entry.onMessage({ kind: 'presence-query', payload: msg.payload })
      } catch (err) {
        log?.warn({ err, room }, 'fan-out presence query rejected by the room')
      }
      return
    }
    const kind = KIND_OF[msg.type]
    if (!kind) return
    if (kind === 'awareness') presence.track(room, msg.sender, msg.payload)
    metrics.received?.(kind, Math.max(0, now - msg.sentAt) / 1000)
    try {
      entry.onMessage({ kind, payload: msg.payload })
    } catch (err) {
      log?.warn({ err, room }, 'fan-out message rejected by the room')
    }
  })

  // ------------------------------------------------------------------------------------------
  // Peer servers that die (their clients' presence, their rooms)

  function peerGone(id: string, peer: PeerServer, why: 'silent' | 'bye'): void {
    metrics.peerGone?.()
    log?.info({ peer: id, why }, 'fan-out: peer server gone; removing its clients’ presence')
    for (const [room, removal] of presence.takeFrom(id)) {
      const entry = rooms.get(room)
      if (!entry) continue
      try {
        entry.onMessage({ kind: 'awareness', payload: removal })
      } catch (err) {
        log?.warn({ err, room }, 'fan-out presence removal rejected by the room')
      }
    }
    // It may have committed updates it never got to publish.
    emitResync(peer.rooms, 'peer-gone')
  }

  // ------------------------------------------------------------------------------------------
  // Publisher link (its bounded queue: redis-publisher.ts)

  pub.on('ready', () => {
    if (pubEverReady) {
      metrics.reconnected?.('publisher')
      log?.info({ queued: publisher.queued }, 'fan-out: publisher reconnected to Redis; flushing')
    }
    pubEverReady = true
    publisher.flush()
    heartbeat()
    // Redis may have restarted empty: write our client counts whole.
    clientCounts.renew(true)
  })

  let subWasUp = false
  let pubWasUp = false
  const onDown = (link: 'subscriber' | 'publisher') => () => {
    const wasUp = link === 'subscriber' ? subWasUp : pubWasUp
    if (link === 'subscriber') subWasUp = false
    else pubWasUp = false
    liveness.linkDown(link)
    if (wasUp && !closed) log?.warn({ link }, 'fan-out: lost the Redis connection; local relay continues, reconnecting')
  }
  sub.on('ready', () => (subWasUp = true))
  pub.on('ready', () => (pubWasUp = true))
  sub.on('close', onDown('subscriber'))
  pub.on('close', onDown('publisher'))
  // ioredis reports every failed reconnect attempt here; the 'close' transition above is logged once.
  const onError = (link: string) => (err: Error) => log?.debug({ link, err: err.message }, 'fan-out: redis error')
  sub.on('error', onError('subscriber'))
  pub.on('error', onError('publisher'))

  // ------------------------------------------------------------------------------------------
  // Heartbeats and the silence check

  function heartbeat(): void {
    // Heartbeats are never queued: a stale one proves nothing.
    if (!closed) publisher.sendIfUp({ room: undefined, buf: encodeWire(WireType.Heartbeat, serverId), kind: undefined })
    clientCounts.renew(false)
  }

  const timer = setInterval(() => {
    heartbeat()
    if (sub.status === 'ready') peers.sweep(performance.now())
  }, heartbeatMs)
  timer.unref()

  // ------------------------------------------------------------------------------------------

  const fanout: RedisFanout = {
    kind: 'redis',
    serverId,
    connectionNames,

    subscribe(room, onMessage) {
      if (closed) return Promise.reject(new Error('fan-out closed'))
      const entry: RoomEntry = { onMessage, acked: false, resyncOnAck: false, waiters: [] }
      rooms.set(room, entry)
      return new Promise<void>((resolve) => {
        let settled = false
        const done = () => {
          if (settled) return
          settled = true
          clearTimeout(giveUp)
          resolve()
        }
        entry.waiters.push(done)
        // Not acknowledged in time (Redis down or slow): let the room open now and resync it as
        // soon as the subscription exists; the store has everything committed meanwhile.
        const giveUp = setTimeout(
          () => {
            if (!entry.acked) entry.resyncOnAck = true
            done()
          },
          sub.status === 'ready' ? subscribeTimeoutMs : Math.min(subscribeTimeoutMs, 250),
        )
        if (sub.status === 'ready') {
          // If the link drops before the reply, the next 'ready' subscribes every room again.
          sub.subscribe(channelOf(room)).then(
            () => markAcked(room, entry),
            () => {},
          )
        }
      })
    },

    async unsubscribe(room) {
      const entry = rooms.get(room)
      if (!entry) return
      rooms.delete(room)
      presence.dropRoom(room)
      for (const w of entry.waiters) w()
      entry.waiters = []
      if (sub.status === 'ready') await sub.unsubscribe(channelOf(room)).catch(() => {})
    },

    publish(room, msg) {
      if (closed) return
      post({ room, buf: encodeWire(TYPE_OF[msg.kind], serverId, msg.payload), kind: msg.kind })
    },

    setClients: (room, clients) => clientCounts.set(room, clients),

    remoteClients: (names) => clientCounts.read(peers.ids(), names),

    onResync(cb) {
      resyncListeners.add(cb)
      return () => resyncListeners.delete(cb)
    },

    async health() {
      if (sub.status !== 'ready' || pub.status !== 'ready') {
        return {
          ok: false,
          reason: FanoutReason.Disconnected,
          detail: `redis subscriber ${sub.status}, publisher ${pub.status}; ${publisher.queued} message(s) queued locally`,
        }
      }
      const stalledMs = liveness.check()
      if (stalledMs) {
        return {
          ok: false,
          reason: FanoutReason.Stalled,
          detail: `no probe came back through Redis for ${Math.round(stalledMs)} ms (limit ${stallAfterMs} ms); cross-server messages are not flowing`,
        }
      }
      return { ok: true, detail: `${peers.size} peer server(s) heard` }
    },

    ready(timeoutMs = 10_000) {
      const up = () => sub.status === 'ready' && pub.status === 'ready' && subEverReady && pubEverReady
      if (up()) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!up()) return
          cleanup()
          resolve()
        }
        const t = setTimeout(() => {
          cleanup()
          reject(new Error(`Redis fan-out not ready within ${timeoutMs} ms (subscriber ${sub.status}, publisher ${pub.status})`))
        }, timeoutMs)
        const cleanup = () => {
          clearTimeout(t)
          sub.off('ready', check)
          pub.off('ready', check)
        }
        sub.on('ready', check)
        pub.on('ready', check)
      })
    },

    async close() {
      if (closed) return
      closed = true
      clearInterval(timer)
      liveness.stop()
      for (const e of rooms.values()) for (const w of e.waiters) w()
      rooms.clear()
      presence.clear()
      resyncListeners.clear()
      // Tell peers now instead of letting them wait out our silence; bounded, Redis may be gone.
      await withTimeout(clientCounts.close(), 1_000)
      if (pub.status === 'ready') {
        const flushes = publisher.drain({ room: undefined, buf: encodeWire(WireType.Bye, serverId), kind: undefined })
        await withTimeout(Promise.all(flushes), 1_000)
      }
      sub.disconnect()
      await withTimeout(pub.quit().catch(() => 'OK'), 1_000)
      pub.disconnect()
    },
  }
  return fanout
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let t: NodeJS.Timeout
  return Promise.race([p, new Promise<undefined>((resolve) => (t = setTimeout(() => resolve(undefined), ms)))]).finally(() =>
    clearTimeout(t),
  )
}
