import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { TransportChoice } from './transport-choice.js'
import type { WebSocketLike } from './types.js'

/** The rules of transport-choice.ts; the whole dance over real sockets is apps/server/test/net/http-fallback.test.ts. */

class ProbeSocket implements WebSocketLike {
  binaryType = 'arraybuffer'
  readyState = 0
  onopen: ((e: unknown) => void) | null = null
  onmessage: ((e: { readonly data: unknown }) => void) | null = null
  onclose: ((e: { readonly code: number; readonly reason: string }) => void) | null = null
  onerror: ((e: unknown) => void) | null = null
  closed = false
  send(): void {}
  close(): void {
    this.closed = true
  }
}

const timing = { handshakeTimeoutMs: 1000, probeMs: 5000 }

describe('TransportChoice', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it("'auto' moves to HTTP after two WebSocket attempts fail like a network (1006 or timeout), and back after an HTTP one does", () => {
    const c = new TransportChoice('auto', timing)
    expect(c.next).toBe('websocket')
    c.ended('websocket', true)
    expect(c.next).toBe('websocket')
    c.ended('websocket', true)
    expect(c.next).toBe('http')
    c.ended('http', true)
    expect(c.next).toBe('websocket')
    c.ended('websocket', true) // one more is enough now
    expect(c.next).toBe('http')
    c.destroy()
  })

  it('a failure where the server answered, or one after opening, does not count; an open WebSocket resets the count', () => {
    const c = new TransportChoice('auto', timing)
    c.ended('websocket', true)
    c.opened('websocket', () => new ProbeSocket(), () => {})
    c.ended('websocket', false)
    c.ended('websocket', true)
    expect(c.next).toBe('websocket')
    c.destroy()
  })

  it('times out a WebSocket handshake in auto only', () => {
    const onTimeout = vi.fn()
    const auto = new TransportChoice('auto', timing)
    auto.dialing('websocket', onTimeout)
    vi.advanceTimersByTime(999)
    expect(onTimeout).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(onTimeout).toHaveBeenCalledTimes(1)

    const forced = new TransportChoice('websocket', timing)
    forced.dialing('websocket', onTimeout)
    vi.advanceTimersByTime(10_000)
    expect(onTimeout).toHaveBeenCalledTimes(1)
    for (let i = 0; i < 5; i++) forced.ended('websocket', true)
    expect(forced.next).toBe('websocket')
    expect(new TransportChoice('http', timing).next).toBe('http')
  })

  it('on HTTP probes WebSocket every probeMs; a probe that fails is closed and retried later, one that opens moves back', () => {
    const c = new TransportChoice('auto', timing)
    c.ended('websocket', true)
    c.ended('websocket', true)
    const probes: ProbeSocket[] = []
    const onUpgrade = vi.fn()
    c.opened('http', () => {
      const p = new ProbeSocket()
      probes.push(p)
      return p
    }, onUpgrade)
    vi.advanceTimersByTime(5000)
    expect(probes).toHaveLength(1)
    vi.advanceTimersByTime(1000) // no answer: given up, closed
    expect(probes[0]!.closed).toBe(true)
    vi.advanceTimersByTime(5000)
    expect(probes).toHaveLength(2)
    probes[1]!.onclose?.({ code: 1006, reason: '' }) // refused
    expect(probes[1]!.closed).toBe(true)
    vi.advanceTimersByTime(5000)
    probes[2]!.onopen?.({})
    expect(probes[2]!.closed).toBe(true)
    expect(onUpgrade).toHaveBeenCalledTimes(1)
    expect(c.next).toBe('websocket')
    c.destroy()
    expect(vi.getTimerCount()).toBe(0)
  })

  it('destroy() stops a pending probe and its timers', () => {
    const c = new TransportChoice('auto', timing)
    c.opened('http', () => new ProbeSocket(), () => {})
    vi.advanceTimersByTime(5000)
    c.destroy()
    expect(vi.getTimerCount()).toBe(0)
  })
})
