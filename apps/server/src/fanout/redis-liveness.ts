/**
 * Is Redis actually carrying messages? Connected links prove nothing: a Redis that is paused
 * (CLIENT PAUSE), overloaded, or behind a network partition keeps both sockets open while nothing
 * crosses, and edits between servers silently stall. So each server publishes a probe on a
 * channel only it subscribes to, and the probe coming back through its own subscriber proves the
 * whole path (publisher → Redis → subscriber). A probe unanswered for `stallAfterMs` means stalled.
 *
 * This only keeps the books; redis.ts sends the probes and reports the state. Times are
 * performance.now() milliseconds.
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

export function createRoundTrip(stallAfterMs: number): RoundTrip {
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
