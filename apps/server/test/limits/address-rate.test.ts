import { describe, expect, it } from 'vitest'
import { createAddressRateLimiter } from '../../src/limits/address-rate.js'

/** The per-address bucket on its own, with an injected clock: exact refill, Retry-After, memory bound. */
function limiter(opts: { perSecond: number; burst: number; maxAddresses?: number }) {
  let t = 1_000
  const l = createAddressRateLimiter({ ...opts, now: () => t })
  return { l, advance: (ms: number) => (t += ms) }
}

const admitted = (l: ReturnType<typeof createAddressRateLimiter>, address: string, n: number) =>
  Array.from({ length: n }, () => l.take(address)).filter((d) => d.ok).length

describe('per-address rate limiter', () => {
  it('admits the burst, then refills at the rate; Retry-After is the whole seconds until the next token', () => {
    const { l, advance } = limiter({ perSecond: 2, burst: 3 })
    expect(admitted(l, 'a', 10)).toBe(3)
    expect(l.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 })
    advance(499)
    expect(l.take('a').ok).toBe(false)
    advance(1) // 500 ms at 2/s: one token
    expect(l.take('a').ok).toBe(true)
    expect(l.take('a').ok).toBe(false)
    advance(60_000) // never more than the burst
    expect(admitted(l, 'a', 10)).toBe(3)
  })

  it('Retry-After rounds up for slow rates', () => {
    const { l } = limiter({ perSecond: 0.25, burst: 1 })
    expect(l.take('a').ok).toBe(true)
    expect(l.take('a')).toEqual({ ok: false, retryAfterSeconds: 4 })
  })

  it('each address has its own bucket', () => {
    const { l } = limiter({ perSecond: 1, burst: 2 })
    expect(admitted(l, 'a', 5)).toBe(2)
    expect(admitted(l, 'b', 5)).toBe(2)
    expect(l.take('a').ok).toBe(false)
  })

  it('drops buckets that have refilled (idle) without a timer', () => {
    const { l, advance } = limiter({ perSecond: 10, burst: 10 })
    for (let i = 0; i < 100; i++) l.take(`10.0.0.${i}`)
    expect(l.size).toBe(100)
    advance(1_000) // every bucket is full again: holding it changes nothing
    for (let i = 0; i < 60; i++) l.take('busy')
    expect(l.size).toBe(1)
    // A bucket still refilling is kept: its owner must not get a fresh burst.
    expect(l.take('busy').ok).toBe(false)
  })

  it('holds at most maxAddresses entries, evicting the least recently used', () => {
    const { l } = limiter({ perSecond: 1, burst: 1, maxAddresses: 3 })
    l.take('a')
    l.take('b')
    l.take('c')
    expect(l.take('a').ok).toBe(false) // a is now the most recent
    l.take('d') // evicts b
    expect(l.size).toBe(3)
    expect(l.take('a').ok).toBe(false)
    expect(l.take('c').ok).toBe(false)
    expect(l.take('b').ok).toBe(true) // forgotten: a fresh bucket (d, now the least recently used, is evicted for it)
    expect(l.size).toBe(3)
  })
})
