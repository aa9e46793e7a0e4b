import type { Redis } from 'ioredis'
import type { Logger } from '../log.js'
import { WireType, decodeWire, encodeWire } from './redis-wire.js'

/**
 * Is Redis actually carrying messages? Connected links prove nothing: a Redis that is paused
 * (CLIENT PAUSE), overloaded, or behind a network partition keeps both sockets open while nothing
 * crosses, and edits between servers silently stall. So each server publishes a probe on a
 * channel only it subscribes to, and the probe coming back through its own subscriber proves the
 * whole path (publisher → Redis → subscriber). A probe unanswered for `stallAfterMs` means stalled.
 *
 * createRoundTrip keeps the books; createLivenessProbe sends and takes back the probes; redis.ts
 * reports the state. Times are performance.now() milliseconds.
 */
export interface RoundTrip {
  /** a probe stamped `at` was published */
  sent(at: number): void
  /** our probe stamped `sentAt` came back: it and every earlier one are answered */
  answered(sentAt: number): void
  /** a link went down or came back: probes in flight may never be answered, forget them */
  reset(): void
  /** how long the oldest unanswered probe has waited, if longer than the limit; else 0 */
  stalledFor(now: number): number
}

/** Probes remembered at most: the oldest one is what counts, and a long stall must not grow a list. */
const MAX_OUTSTANDING = 64

function createRoundTrip(stallAfterMs: number): RoundTrip {
  let outstanding: number[] = []
  return {
    sent(at) {
      if (outstanding.length < MAX_OUTSTANDING) outstanding.push(at)
    },
    answered(sentAt) {
      let n = 0
      while (n < outstanding.length && outstanding[n]! <= sentAt) n++
      if (n) outstanding = outstanding.slice(n)
    },
    reset() {
      outstanding = []
    },
    stalledFor(now) {
      const oldest = outstanding[0]
      return oldest !== undefined && now - oldest > stallAfterMs ? now - oldest : 0
    },
  }
}

export interface LivenessProbeOptions {
  pub: Redis
  /** both links are up (no probe is sent otherwise) */
  linksUp: () => boolean
  /** the channel only this server subscribes to */
  channel: string
  serverId: string
  intervalMs: number
  stallAfterMs: number
  log: Pick<Logger, 'warn' | 'info'> | undefined
}

/**
 * Sends the probes (every `intervalMs`, straight to the socket, never queued: a probe that waited
 * proves nothing), takes them back, and logs a stall once when it starts and once when it ends.
 */
export function createLivenessProbe(opts: LivenessProbeOptions) {
  const { pub, channel, serverId, log } = opts
  const roundTrip = createRoundTrip(opts.stallAfterMs)
  /** the subscriber acknowledged the probe channel (this link epoch): probes can come back */
  let subscribed = false
  /** when the current stall was first noticed; undefined while round trips complete */
  let stalledSince: number | undefined

  /** How long Redis has been stalled (0 if it is not); logs the transitions. */
  function check(): number {
    const now = performance.now()
    const stalledMs = roundTrip.stalledFor(now)
    if (stalledMs && stalledSince === undefined) {
      stalledSince = now - stalledMs
      log?.warn(
        { stalledMs: Math.round(stalledMs) },
        'fan-out: Redis is connected but not answering (no probe came back); edits reach only this server’s clients until it does',
      )
    } else if (!stalledMs && stalledSince !== undefined) {
      log?.info({ stalledMs: Math.round(now - stalledSince) }, 'fan-out: Redis answers again; cross-server messages flow')
      stalledSince = undefined
    }
    return stalledMs
  }

  const timer = setInterval(() => {
    check()
    if (!subscribed || !opts.linksUp()) return
    // A monotonic clock (only this process reads the stamp): a wall-clock jump is not a stall.
    const at = performance.now()
    roundTrip.sent(at)
    // A publish that fails means a link is going down, which its 'close' reports.
    pub.publish(channel, encodeWire(WireType.Heartbeat, serverId, undefined, at)).catch(() => {})
  }, opts.intervalMs)
  timer.unref()

  return {
    check,
    /** the subscriber (re)subscribed the probe channel */
    subscribed(): void {
      subscribed = true
    },
    /** a link went down: probes in flight are moot, and a lost link is its own state (disconnected) */
    linkDown(link: 'subscriber' | 'publisher'): void {
      if (link === 'subscriber') subscribed = false
      roundTrip.reset()
      stalledSince = undefined
    },
    /** a message on the probe channel */
    answered(message: Buffer): void {
      const msg = decodeWire(message)
      if (msg?.sender !== serverId) return
      roundTrip.answered(msg.sentAt)
      check()
    },
    stop(): void {
      clearInterval(timer)
    },
  }
}
