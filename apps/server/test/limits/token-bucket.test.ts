import { describe, expect, it } from 'vitest'
import { ConnectionRateLimiter, TokenBucket } from '../../src/limits/token-bucket.js'

describe('TokenBucket', () => {
  it('allows the burst at once, then exactly the refill rate', () => {
    let t = 0
    const b = new TokenBucket(10, 5, () => t)
    for (let i = 0; i < 5; i++) expect(b.take()).toBe(true)
    expect(b.take()).toBe(false)
    t += 100 // 10/s → one token per 100 ms
    expect(b.take()).toBe(true)
    expect(b.take()).toBe(false)
    t += 10_000 // refill never exceeds the burst
    for (let i = 0; i < 5; i++) expect(b.take()).toBe(true)
    expect(b.take()).toBe(false)
  })

  it('a refused take spends nothing; a request larger than the burst never passes', () => {
    let t = 0
    const b = new TokenBucket(1000, 100, () => t)
    expect(b.take(101)).toBe(false)
    expect(b.take(100)).toBe(true)
    t += 50
    expect(b.take(60)).toBe(false)
    expect(b.take(50)).toBe(true)
  })

  it('a clock that steps backwards refills nothing', () => {
    let t = 1000
    const b = new TokenBucket(10, 1, () => t)
    expect(b.take()).toBe(true)
    t = 0
    expect(b.take()).toBe(false)
    t = 50
    expect(b.take()).toBe(false)
  })
})

describe('ConnectionRateLimiter', () => {
  it('names the limit a frame broke; 0 per second disables a limit', () => {
    const t = 0
    const both = new ConnectionRateLimiter({ messagesPerSec: 1, messageBurst: 2, bytesPerSec: 1, byteBurst: 100 }, () => t)
    expect(both.check(60)).toBeUndefined()
    expect(both.check(60)).toBe('rate-limit-bytes')
    expect(both.check(1)).toBe('rate-limit-messages')
    const off = new ConnectionRateLimiter({ messagesPerSec: 0, messageBurst: 1, bytesPerSec: 0, byteBurst: 1 }, () => t)
    for (let i = 0; i < 1000; i++) expect(off.check(1e6)).toBeUndefined()
  })
})
