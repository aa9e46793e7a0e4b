import type { Redis } from 'ioredis'
import type { Logger } from '../log.js'

/**
 * How many clients each server holds in each room, for the room listing (GET /api/rooms) with
 * several servers. Every server keeps one Redis hash of its own counts (room → clients), written
 * at most every `flushMs` (joins and leaves coalesce: a reconnect storm costs one write per room per
 * flush, not one per socket) and expiring after `ttlMs` unless the heartbeat renews it, so a server
 * that died without saying goodbye stops being counted within a few heartbeats. A reader adds the
 * hashes of the servers it hears (redis-peers.ts) to its own counts.
 *
 * Peer hashes are another server's bytes: a value that is not a small non-negative integer counts
 * as 0. Counts are a listing's hint, never used to admit or refuse anything.
 */
export interface ClientCounts {
  /** this server now has `clients` connections in `room` */
  set(room: string, clients: number): void
  /** the heartbeat: renew the hash's expiry, and rewrite it whole when Redis may have lost it */
  renew(rewrite: boolean): void
  /** the clients the servers `peers` have in each of `rooms` (absent = 0); undefined when Redis could not answer */
  read(peers: readonly string[], rooms: readonly string[]): Promise<Map<string, number> | undefined>
  /** stops the flush timer and removes this server's hash (bounded by `timeoutMs`) */
  close(): Promise<void>
}

const MAX_COUNT = 1_000_000

export function createClientCounts(opts: {
  redis: Redis
  keyOf: (serverId: string) => string
  serverId: string
  ttlMs: number
  flushMs?: number
  readTimeoutMs?: number
  log?: Pick<Logger, 'debug'>
}): ClientCounts {
  const { redis } = opts
  const key = opts.keyOf(opts.serverId)
  const flushMs = opts.flushMs ?? 250
  const readTimeoutMs = opts.readTimeoutMs ?? 1_000
  const counts = new Map<string, number>()
  /** rooms whose count changed since the last write */
  const dirty = new Set<string>()
  let timer: NodeJS.Timeout | undefined
  let closed = false

  const up = () => redis.status === 'ready' && !closed

  function flush(): void {
    timer = undefined
    if (!up() || dirty.size === 0) return
    const multi = redis.multi()
    for (const room of dirty) {
      const n = counts.get(room) ?? 0
      if (n > 0) multi.hset(key, room, n)
      else multi.hdel(key, room)
    }
    multi.pexpire(key, opts.ttlMs)
    dirty.clear()
    // A failed write leaves the old counts until the next heartbeat rewrites the hash whole.
    multi.exec().catch((err: Error) => opts.log?.debug({ err: err.message }, 'fan-out: client counts not written'))
  }

  return {
    set(room, clients) {
      if (closed) return
      if (clients > 0) counts.set(room, clients)
      else counts.delete(room)
      dirty.add(room)
      timer ??= setTimeout(flush, flushMs)
      timer.unref()
    },

    renew(rewrite) {
      if (!up()) return
      if (rewrite) {
        const multi = redis.multi().del(key)
        if (counts.size) multi.hset(key, Object.fromEntries(counts))
        multi.pexpire(key, opts.ttlMs)
        dirty.clear()
        multi.exec().catch((err: Error) => opts.log?.debug({ err: err.message }, 'fan-out: client counts not rewritten'))
        return
      }
      if (counts.size) redis.pexpire(key, opts.ttlMs).catch(() => {})
    },

    async read(peers, rooms) {
      if (peers.length === 0 || rooms.length === 0) return new Map()
      if (!up()) return undefined
      const pipeline = redis.pipeline()
      for (const id of peers) pipeline.hmget(opts.keyOf(id), ...rooms)
      let timeout: NodeJS.Timeout | undefined
      const answers = await Promise.race([
        pipeline.exec(),
        new Promise<null>((resolve) => (timeout = setTimeout(() => resolve(null), readTimeoutMs))),
      ])
        .catch(() => null)
        .finally(() => clearTimeout(timeout))
      if (!answers) return undefined
      const out = new Map<string, number>()
      for (const [err, values] of answers) {
        if (err || !Array.isArray(values)) continue
        values.forEach((v: unknown, i) => {
          const n = typeof v === 'string' && /^\d{1,7}$/.test(v) ? Math.min(Number(v), MAX_COUNT) : 0
          if (n > 0) out.set(rooms[i]!, (out.get(rooms[i]!) ?? 0) + n)
        })
      }
      return out
    },

    async close() {
      closed = true
      clearTimeout(timer)
      timer = undefined
      counts.clear()
      dirty.clear()
      if (redis.status === 'ready') await redis.del(key).catch(() => 0)
    },
  }
}
