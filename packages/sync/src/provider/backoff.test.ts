import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { backoffCeiling, backoffDelay } from './backoff.js'

const opts = { initialMs: 250, maxMs: 30_000 }

describe('backoffCeiling', () => {
  it('doubles per attempt from initialMs and stops at maxMs', () => {
    expect([0, 1, 2, 3, 6, 7, 8, 50].map((n) => backoffCeiling(n, opts))).toEqual([
      250, 500, 1000, 2000, 16_000, 30_000, 30_000, 30_000,
    ])
  })

  it('stays finite for huge attempt counts and initialMs 0', () => {
    expect(backoffCeiling(10_000, opts)).toBe(30_000)
    expect(backoffCeiling(10_000, { initialMs: 0, maxMs: 1000 })).toBe(0)
  })
})

describe('backoffDelay (full jitter)', () => {
  it('scales random() over [0, ceiling)', () => {
    expect(backoffDelay(2, opts, () => 0)).toBe(0)
    expect(backoffDelay(2, opts, () => 0.5)).toBe(500)
    expect(backoffDelay(2, opts, () => 0.999_999)).toBe(999)
  })

  it('is always an integer in [0, min(cap, base·2^attempt)) for any random in [0, 1)', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 200 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 120_000 }),
        (attempt, r, initialMs, maxMs) => {
          const d = backoffDelay(attempt, { initialMs, maxMs }, () => r)
          expect(Number.isInteger(d)).toBe(true)
          expect(d).toBeGreaterThanOrEqual(0)
          expect(d).toBeLessThan(Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 53)))
        },
      ),
    )
  })

  it('uses Math.random by default, so delays differ between clients', () => {
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(10, opts)))
    expect(seen.size).toBeGreaterThan(1)
  })
})
