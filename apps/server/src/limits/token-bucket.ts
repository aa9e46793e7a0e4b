/**
 * A token bucket: holds up to `burst` tokens, refills at `perSecond`. take(n) spends n tokens if
 * the bucket has them. Refill is computed lazily from the clock on each take, so an idle bucket
 * costs nothing (no timer per connection).
 *
 * A request larger than `burst` can never pass: callers size the burst to their largest legal
 * request (config.ts makes the byte burst at least MAX_PAYLOAD_BYTES).
 */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.tokens = burst
    this.last = this.now()
  }

  take(n = 1): boolean {
    const t = this.now()
    // A clock that went backwards refills nothing (performance.now is monotonic; tests' is not).
    if (t > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.perSecond) / 1000)
      this.last = t
    }
    if (this.tokens < n) return false
    this.tokens -= n
    return true
  }
}

/** Bytes of the inbound byte budget one struct of an update costs (see chargeStructs). */
const STRUCT_COST = 16

export interface RateLimit {
  /** sustained frames per second per connection; 0 = unlimited */
  messagesPerSec: number
  messageBurst: number
  /** sustained bytes per second per connection; 0 = unlimited */
  bytesPerSec: number
  byteBurst: number
}

/**
 * The per-connection inbound limits: frames/s and bytes/s. check() returns the reason label of
 * the limit a frame broke, or undefined when it may pass.
 */
export class ConnectionRateLimiter {
  private readonly messages: TokenBucket | undefined
  private readonly bytes: TokenBucket | undefined

  constructor(limit: RateLimit, now?: () => number) {
    this.messages = limit.messagesPerSec > 0 ? new TokenBucket(limit.messagesPerSec, limit.messageBurst, now) : undefined
    this.bytes = limit.bytesPerSec > 0 ? new TokenBucket(limit.bytesPerSec, limit.byteBurst, now) : undefined
  }

  check(frameBytes: number): 'rate-limit-messages' | 'rate-limit-bytes' | undefined {
    if (this.messages && !this.messages.take(1)) return 'rate-limit-messages'
    if (this.bytes && !this.bytes.take(frameBytes)) return 'rate-limit-bytes'
    return undefined
  }

  /**
   * The structs of an update, charged to the byte bucket at STRUCT_COST bytes each: decoding and
   * integrating costs the server ~2-3 µs per struct whatever its size on the wire (a GC run is 2
   * bytes), so a frame of tiny structs must cost its sender what it costs the server.
   */
  chargeStructs(structs: number): boolean {
    return !this.bytes || this.bytes.take(structs * STRUCT_COST)
  }
}
