import type { Logger } from '../log.js'
import type { ComponentHealth } from '../health/model.js'
import type { Fanout, FanoutKind } from './types.js'

/** What the Redis fan-out (redis.ts) is configured with, and what it offers beyond a Fanout. */
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
  /** how often a probe goes through Redis and back; default min(heartbeatMs, 1 s) */
  probeIntervalMs?: number
  /** a probe not back after this long means Redis is stalled; default max(3 × probeIntervalMs, 1 s) */
  stallAfterMs?: number
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
  health(): Promise<ComponentHealth>
}
