import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Logger } from '../log.js'
import { DEFAULT_FANOUT_HEARTBEAT_MS, DEFAULT_REDIS_PREFIX } from '../defaults.js'
import type { Fanout, FanoutDelivery, FanoutKind } from './types.js'
import { WireType, decodeWire, encodeWire } from './redis-wire.js'
import { PresenceLedger } from './redis-presence.js'

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
 */
export interface RedisFanoutOptions {
  url: string
  /** channel namespace: `${prefix}:room:${room}` and `${prefix}:servers` (REDIS_PREFIX) */
  prefix?: string
  /** this server's id on the wire; random per process by default */
  serverId?: string
  /** heartbeat period (FANOUT_HEARTBEAT_MS) */
  heartbeatMs?: number
  /** silence after which a peer counts as gone; default 3 × heartbeatMs */
  peerTimeoutMs?: number
  /** how long subscribe() waits for Redis before letting the room open (and resyncing it later) */
  subscribeTimeoutMs?: number
  /** local publish queue while Redis is unreachable: a hostile or long outage cannot grow memory without bound */
  maxQueueMessages?: number
  maxQueueBytes?: number
  metrics?: FanoutMetrics
  log?: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>
}

/** Counters for /metrics, called synchronously on the hot path: keep them cheap. */
export interface FanoutMetrics {
  /** a message handed to Redis (acknowledged by it) */
  published?(kind: FanoutKind): void
  /** a message from another server delivered to a room; lag = receive time − publish time */
  received?(kind: FanoutKind, lagSeconds: number): void
  /** a message lost on this side: queue overflow, failed publish, undecodable input */
  dropped?(reason: 'queue-full' | 'publish-failed' | 'malformed'): void
  /** a Redis connection (subscriber or publisher) came back after being lost */
  reconnected?(link: 'subscriber' | 'publisher'): void
  /** rooms handed to onResync, by cause */
  resync?(reason: 'reconnect' | 'late-subscribe' | 'peer-gone' | 'peer-dropped', rooms: number): void
  /** a peer server declared gone (silence or goodbye) */
  peerGone?(): void
}

export interface RedisFanout extends Fanout {
  readonly serverId: string
  onResync(cb: (rooms: readonly string[]) => void): () => void
  /** Resolves when both links are up (tests, startup logs); rejects after timeoutMs. */
  ready(timeoutMs?: number): Promise<void>
  /** Redis CLIENT SETNAME of this server's links: `${prefix}:${serverId}:sub|pub` */
  readonly connectionNames: { sub: string; pub: string }
}

interface RoomEntry {
  onMessage: (msg: FanoutDelivery) => void
  acked: boolean
  /** subscribe() stopped waiting before Redis acknowledged: resync once it does */
  resyncOnAck: boolean
  waiters: (() => void)[]
}

interface Peer {
  lastSeen: number
  /** rooms (subscribed here) in which this peer published: resync them if it vanishes */
  rooms: Set<string>
}

interface Queued {
  room: string | undefined
  buf: Buffer
  kind: FanoutKind | undefined
}

const KIND_OF: Record<number, FanoutKind | undefined> = { [WireType.Update]: 'update', [WireType.Awareness]: 'awareness' }

export function createRedisFanout(opts: RedisFanoutOptions): RedisFanout {
  const prefix = opts.prefix ?? DEFAULT_REDIS_PREFIX
  const serverId = opts.serverId ?? randomUUID()
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_FANOUT_HEARTBEAT_MS
  const peerTimeoutMs = opts.peerTimeoutMs ?? 3 * heartbeatMs
  const subscribeTimeoutMs = opts.subscribeTimeoutMs ?? 5_000
  const maxQueueMessages = opts.maxQueueMessages ?? 10_000
  const maxQueueBytes = opts.maxQueueBytes ?? 64 * 1024 * 1024
  const metrics = opts.metrics ?? {}
  const log = opts.log

  const roomPrefix = `${prefix}:room:`
  const controlChannel = `${prefix}:servers`
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
  const peers = new Map<string, Peer>()
  /** room → awareness clientID → the peer that announced it and the clock last seen */
  const presence = new PresenceLedger()
  const resyncListeners = new Set<(rooms: readonly string[]) => void>()

  let queue: Queued[] = []
  let queuedBytes = 0
  /** rooms whose outgoing messages were lost: peers are told to resync them once we are back */
  const lossyRooms = new Set<string>()
  let closed = false
  let subEpoch = 0
  let subEverReady = false
  let pubEverReady = false
  /** peers cannot be judged silent while we ourselves could not hear them */
  let hearingSince = 0

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
    hearingSince = Date.now()
    // Everyone was inaudible while we were away: restart their silence clocks.
    for (const p of peers.values()) p.lastSeen = hearingSince
    if (reconnect) {
      metrics.reconnected?.('subscriber')
      log?.info('fan-out: subscriber reconnected to Redis; resubscribing')
    }
    const snapshot = [...rooms.entries()]
    for (const [, e] of snapshot) e.acked = false
    sub
      .subscribe(controlChannel, ...snapshot.map(([room]) => channelOf(room)))
      .then(() => {
        if (epoch !== subEpoch || closed) return
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
    const msg = decodeWire(message)
    if (!msg) {
      metrics.dropped?.('malformed')
      return
    }
    if (msg.sender === serverId) return
    const now = Date.now()
    let peer = peers.get(msg.sender)
    if (!peer) {
      peer = { lastSeen: now, rooms: new Set() }
      peers.set(msg.sender, peer)
    }
    peer.lastSeen = now

    const ch = channel.toString('utf8')
    if (ch === controlChannel) {
      if (msg.type === WireType.Bye) peerGone(msg.sender, 'bye')
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

  function peerGone(id: string, why: 'silent' | 'bye'): void {
    const peer = peers.get(id)
    if (!peer) return
    peers.delete(id)
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
  // Publisher link and its bounded queue

  function send(q: Queued): void {
    pub.publish(q.room === undefined ? controlChannel : channelOf(q.room), q.buf).then(
      () => {
        if (q.kind) metrics.published?.(q.kind)
      },
      () => {
        // Lost with the link (or refused): receivers must learn it from the store instead.
        if (q.room !== undefined) lossyRooms.add(q.room)
        metrics.dropped?.('publish-failed')
      },
    )
  }

  /**
   * Publishes now, or queues until the publisher is up. Order matters (a Yjs update may depend on
   * an earlier one): once anything is queued, everything queues behind it until the flush.
   */
  function post(q: Queued): void {
    if (pub.status === 'ready' && queue.length === 0) send(q)
    else enqueue(q)
  }

  function enqueue(q: Queued): void {
    queue.push(q)
    queuedBytes += q.buf.length
    while (queue.length > maxQueueMessages || queuedBytes > maxQueueBytes) {
      const dropped = queue.shift()!
      queuedBytes -= dropped.buf.length
      if (dropped.room !== undefined) lossyRooms.add(dropped.room)
      metrics.dropped?.('queue-full')
    }
  }

  pub.on('ready', () => {
    if (pubEverReady) {
      metrics.reconnected?.('publisher')
      log?.info({ queued: queue.length }, 'fan-out: publisher reconnected to Redis; flushing')
    }
    pubEverReady = true
    const pending = queue
    queue = []
    queuedBytes = 0
    for (const q of pending) send(q)
    for (const room of lossyRooms) send({ room, buf: encodeWire(WireType.Resync, serverId), kind: undefined })
    lossyRooms.clear()
    heartbeat()
  })

  let subWasUp = false
  let pubWasUp = false
  const onDown = (link: 'subscriber' | 'publisher') => () => {
    const wasUp = link === 'subscriber' ? subWasUp : pubWasUp
    if (link === 'subscriber') subWasUp = false
    else pubWasUp = false
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
    if (pub.status === 'ready' && !closed) send({ room: undefined, buf: encodeWire(WireType.Heartbeat, serverId), kind: undefined })
  }

  const timer = setInterval(() => {
    heartbeat()
    const now = Date.now()
    if (sub.status !== 'ready' || now - hearingSince < peerTimeoutMs) return
    for (const [id, p] of peers) if (now - p.lastSeen > peerTimeoutMs) peerGone(id, 'silent')
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
      post({ room, buf: encodeWire(msg.kind === 'update' ? WireType.Update : WireType.Awareness, serverId, msg.payload), kind: msg.kind })
    },

    onResync(cb) {
      resyncListeners.add(cb)
      return () => resyncListeners.delete(cb)
    },

    async health() {
      const ok = sub.status === 'ready' && pub.status === 'ready'
      if (ok) return { ok: true, detail: `${peers.size} peer server(s) heard` }
      return {
        ok: false,
        detail: `redis subscriber ${sub.status}, publisher ${pub.status}; ${queue.length} message(s) queued locally`,
      }
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
      for (const e of rooms.values()) for (const w of e.waiters) w()
      rooms.clear()
      presence.clear()
      resyncListeners.clear()
      // Tell peers now instead of letting them wait out our silence; bounded, Redis may be gone.
      if (pub.status === 'ready') {
        const pending = queue
        queue = []
        const flushes = pending.map((q) => pub.publish(q.room === undefined ? controlChannel : channelOf(q.room), q.buf).catch(() => 0))
        flushes.push(pub.publish(controlChannel, encodeWire(WireType.Bye, serverId)).catch(() => 0))
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
