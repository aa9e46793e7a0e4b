// The retry delay of a failed delivery: exponential, capped, jittered (webhooks/dispatcher.ts).
import { describe, expect, it } from 'vitest'
import { backoffMs } from '../../src/webhooks/dispatcher.js'

describe('webhook retry backoff', () => {
  it('doubles from 1 s per attempt up to 10 min, each delay jittered between half and all of it', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 1))).toEqual([1000, 2000, 4000, 8000])
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 0))).toEqual([500, 1000, 2000, 4000])
    expect(backoffMs(30, 1)).toBe(600_000)
    expect(backoffMs(100, 0)).toBe(300_000)
    for (let i = 0; i < 100; i++) {
      const d = backoffMs(5, Math.random())
      expect(d).toBeGreaterThanOrEqual(8000)
      expect(d).toBeLessThanOrEqual(16000)
    }
  })
})
