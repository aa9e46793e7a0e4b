import { afterEach, describe, expect, it, vi } from 'vitest'
import { ExpiryQueue } from '../../src/limits/expiry-queue.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('ExpiryQueue', () => {
  it('fires each item at its deadline, earliest first, with one timer', () => {
    vi.useFakeTimers({ now: 0 })
    const fired: string[] = []
    const q = new ExpiryQueue<string>((x) => fired.push(x))
    q.add('c', 300)
    q.add('a', 100)
    q.add('b', 200)
    q.add('a2', 100)
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(99)
    expect(fired).toEqual([])
    vi.advanceTimersByTime(1)
    expect(fired.sort()).toEqual(['a', 'a2'])
    vi.advanceTimersByTime(200)
    expect(fired).toEqual(['a', 'a2', 'b', 'c'])
    expect(q.size).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('delete() removes an item (the connection closed first) and disarms when empty', () => {
    vi.useFakeTimers({ now: 0 })
    const fired: number[] = []
    const q = new ExpiryQueue<number>((x) => fired.push(x))
    for (let i = 0; i < 50; i++) q.add(i, 1000 + ((i * 37) % 50) * 10)
    for (let i = 0; i < 50; i += 2) q.delete(i)
    q.delete(999) // unknown: no-op
    vi.advanceTimersByTime(2000)
    expect(fired.sort((x, y) => x - y)).toEqual(Array.from({ length: 25 }, (_, k) => 2 * k + 1))
    q.add(7, 3000)
    q.delete(7)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('heap order survives arbitrary deletes (fires in deadline order)', () => {
    vi.useFakeTimers({ now: 0 })
    const fired: number[] = []
    const q = new ExpiryQueue<number>((x) => fired.push(x))
    const at = (i: number) => 10 + ((i * 7919) % 1000)
    for (let i = 0; i < 200; i++) q.add(i, at(i))
    for (let i = 0; i < 200; i += 3) q.delete(i)
    vi.advanceTimersByTime(2000)
    const times = fired.map(at)
    expect(times).toEqual([...times].sort((x, y) => x - y))
    expect(fired).toHaveLength(200 - Math.ceil(200 / 3))
  })

  it('re-adding reschedules; a past deadline fires on the next tick; close() drops everything', () => {
    vi.useFakeTimers({ now: 1000 })
    const fired: string[] = []
    const q = new ExpiryQueue<string>((x) => fired.push(x))
    q.add('x', 5000)
    q.add('x', 1500)
    q.add('past', 10)
    vi.advanceTimersByTime(0)
    expect(fired).toEqual(['past'])
    vi.advanceTimersByTime(500)
    expect(fired).toEqual(['past', 'x'])
    q.add('y', 9000)
    q.close()
    q.add('z', 1)
    vi.advanceTimersByTime(10_000)
    expect(fired).toEqual(['past', 'x'])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a deadline a month ahead does not fire early (and never meets setTimeout\'s 24.8-day limit: the timer waits at most a second)', () => {
    vi.useFakeTimers({ now: 0 })
    const fired: string[] = []
    const q = new ExpiryQueue<string>((x) => fired.push(x))
    const day = 86_400_000
    q.add('month', 30 * day)
    vi.advanceTimersByTime(10_000)
    expect(fired).toEqual([])
    vi.setSystemTime(30 * day - 1) // the wall clock moves; the pending timer re-reads it within a second
    vi.advanceTimersByTime(1_000)
    expect(fired).toEqual(['month'])
  })

  it('follows wall-clock jumps within a second: forward past a deadline fires it; back before it holds it', () => {
    let wall = 0
    vi.useFakeTimers({ now: 0 })
    const fired: string[] = []
    const q = new ExpiryQueue<string>((x) => fired.push(x), () => wall)
    const hour = 3_600_000
    q.add('ten-minutes', 600_000)
    q.add('two-seconds', 2_000)
    wall -= hour // back: 'two-seconds' is an hour and 2 s away on this clock
    vi.advanceTimersByTime(5_000)
    expect(fired).toEqual([])
    wall += hour + 5_000 // forward again, past 'two-seconds'
    vi.advanceTimersByTime(1_000)
    expect(fired).toEqual(['two-seconds'])
    wall += hour // forward past 'ten-minutes', long before its first timer would have run out
    vi.advanceTimersByTime(1_000)
    expect(fired).toEqual(['two-seconds', 'ten-minutes'])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a throwing callback does not stop the other expiries', () => {
    vi.useFakeTimers({ now: 0 })
    const fired: string[] = []
    const q = new ExpiryQueue<string>((x) => {
      fired.push(x)
      if (x === 'bad') throw new Error('boom')
    })
    q.add('bad', 10)
    q.add('good', 10)
    vi.advanceTimersByTime(10)
    expect(fired.sort()).toEqual(['bad', 'good'])
  })
})
