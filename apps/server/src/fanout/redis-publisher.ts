import type { Redis } from 'ioredis'
import type { FanoutKind } from './types.js'
import { WireType, encodeWire } from './redis-wire.js'

/** One message for the publisher link: a room's channel, or the control channel (room undefined). */
export interface Queued {
  room: string | undefined
  buf: Buffer
  /** counted as published under this kind (update, awareness); undefined for control messages */
  kind: FanoutKind | undefined
}

export interface PublisherOptions {
  serverId: string
  channelOf: (room: string) => string
  controlChannel: string
  /** the local queue's bounds while Redis is unreachable (oldest dropped first) */
  maxQueueMessages: number
  maxQueueBytes: number
  metrics: { published?(kind: FanoutKind): void; dropped?(reason: 'queue-full' | 'publish-failed'): void }
}

/**
 * The publisher link's outgoing side: publish now, or queue in order while the link is down
 * (ioredis' own offline queue is off: it is unbounded). What is lost — dropped from a full queue,
 * or failed with the link — is remembered per room, and once the link is back peers are told to
 * resync those rooms from the store (WireType.Resync).
 */
export function createPublisher(pub: Redis, opts: PublisherOptions) {
  const { serverId, channelOf, controlChannel, maxQueueMessages, maxQueueBytes, metrics } = opts
  let queue: Queued[] = []
  let queuedBytes = 0
  /** rooms whose outgoing messages were lost: peers are told to resync them once we are back */
  const lossyRooms = new Set<string>()

  const channel = (q: Queued) => (q.room === undefined ? controlChannel : channelOf(q.room))

  function send(q: Queued): void {
    pub.publish(channel(q), q.buf).then(
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

  function take(): Queued[] {
    const pending = queue
    queue = []
    queuedBytes = 0
    return pending
  }

  return {
    get queued(): number {
      return queue.length
    },

    /**
     * Publishes now, or queues until the publisher is up. Order matters (a Yjs update may depend
     * on an earlier one): once anything is queued, everything queues behind it until the flush.
     */
    post(q: Queued): void {
      if (pub.status === 'ready' && queue.length === 0) send(q)
      else enqueue(q)
    },

    /** Publishes now if the link is up, else drops it (heartbeats: a late one is worthless). */
    sendIfUp(q: Queued): void {
      if (pub.status === 'ready') send(q)
    },

    /** The link is (back) up: the queue in order, then a resync notice for every room that lost messages. */
    flush(): void {
      for (const q of take()) send(q)
      for (const room of lossyRooms) send({ room, buf: encodeWire(WireType.Resync, serverId), kind: undefined })
      lossyRooms.clear()
    },

    /** Closing: the queue and `last`, published without waiting on the caller's side (each settles, never rejects). */
    drain(last: Queued): Promise<unknown>[] {
      return [...take(), last].map((q) => pub.publish(channel(q), q.buf).catch(() => 0))
    },
  }
}
