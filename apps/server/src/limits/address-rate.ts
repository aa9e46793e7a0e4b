/**
 * A token bucket per client address: how often one address may start something (a WebSocket
 * handshake, an /api request), whatever it does afterwards. Keyed like the per-address connection
 * cap (clientAddress: IPv6 per /64, TRUST_PROXY), so one host cannot spread itself over addresses.
 *
 * Memory is bounded two ways, with no timer:
 * - a bucket that has refilled to its burst is the same as no bucket, so idle entries are dropped
 *   (a few of the least recently used are checked on every take);
 * - at most `maxAddresses` entries: a new address evicts the least recently used one. An evicted
 *   address starts again with a full bucket, so the cap only matters to someone who already
 *   controls that many addresses (the per-address limits do not stop them anyway).
 */
export interface AddressRateOptions {
  /** sustained events per second per address (> 0) */
  perSecond: number
  /** events an address may start at once before the rate applies (≥ 1) */
  burst: number
  /** entries held at most; the least recently used is evicted beyond it */
  maxAddresses?: number
  /** ms clock; monotonic in production, injected by tests */
  now?: () => number
}

/** Enough for a busy deployment's distinct clients; ~100 bytes each. */
const DEFAULT_MAX_ADDRESSES = 100_000
/** Idle entries checked per take: amortised O(1), yet a steady trickle keeps the table clean. */
const SWEEP_PER_TAKE = 2

interface Bucket {
  tokens: number
  last: number
}

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number }

const ADMITTED: RateDecision = Object.freeze({ ok: true as const })

export function createAddressRateLimiter(options: AddressRateOptions) {
  const { perSecond, burst } = options
  const maxAddresses = options.maxAddresses ?? DEFAULT_MAX_ADDRESSES
  const now = options.now ?? performance.now.bind(performance)
  /** time an empty bucket takes to fill up again: an entry idle that long holds nothing */
  const fullAfterMs = (burst * 1000) / perSecond
  // A Map iterates in insertion order; re-inserting on every take keeps it least-recently-used first.
  const buckets = new Map<string, Bucket>()

  function sweep(t: number): void {
    let checked = 0
    for (const [address, bucket] of buckets) {
      if (checked++ >= SWEEP_PER_TAKE || t - bucket.last < fullAfterMs) return
      buckets.delete(address)
    }
  }

  function take(address: string): RateDecision {
    const t = now()
    sweep(t)
    let bucket = buckets.get(address)
    if (bucket) {
      buckets.delete(address)
      // A clock that went backwards refills nothing (performance.now is monotonic; tests' is not).
      if (t > bucket.last) {
        bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.last) * perSecond) / 1000)
        bucket.last = t
      }
    } else {
      if (buckets.size >= maxAddresses) buckets.delete(buckets.keys().next().value!)
      bucket = { tokens: burst, last: t }
    }
    buckets.set(address, bucket)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return ADMITTED
    }
    // Whole seconds (the Retry-After header has no fractions), at least 1.
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond)) }
  }

  return {
    take,
    /** addresses currently tracked */
    get size() {
      return buckets.size
    },
  }
}
