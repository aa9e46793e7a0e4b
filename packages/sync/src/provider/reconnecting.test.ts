/** SyncProvider's retries: backoff, tokens, server lists, dead links, the browser's 'online' event. */
import { describe, expect, it, vi } from 'vitest'
import type { CloseInfo } from './provider.js'
import { KEEP_ALIVE, expectNextAttemptAfter, lastSocket, makeProvider, recordStatus, sockets, useFakeSockets } from './testing/fake-socket.js'

useFakeSockets()

describe('reconnecting', () => {
  it('backs off exponentially with full jitter up to the cap, and resets after a sync', () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const provider = makeProvider({ initialBackoffMs: 100, maxBackoffMs: 1000 })
    const statuses = recordStatus(provider)

    // Ceilings 100, 200, 400, 800, 1000, 1000: half of each with random() = 0.5.
    for (const delay of [50, 100, 200, 400, 500, 500]) {
      lastSocket().serverClose(1006)
      expect(statuses.at(-1)).toEqual({ status: 'disconnected', closeCode: 1006, retryInMs: delay })
      expectNextAttemptAfter(delay)
    }
    // Connected but never synced: still counts as a failure.
    lastSocket().open()
    lastSocket().serverClose(1006)
    expectNextAttemptAfter(500)

    lastSocket().sync()
    lastSocket().serverClose(1006)
    expectNextAttemptAfter(50)
    lastSocket().serverClose(1006)
    expectNextAttemptAfter(100)

    // The jitter is random() over the whole [0, ceiling) range.
    random.mockReturnValueOnce(0.01)
    lastSocket().serverClose(1006)
    expectNextAttemptAfter(4) // 0.01 * 400
    random.mockReturnValueOnce(0.99)
    lastSocket().serverClose(1006)
    expectNextAttemptAfter(792) // 0.99 * 800
  })

  it.each([4400, 4403, 4499])('stops retrying for good on close code %i', (code) => {
    const provider = makeProvider()
    const statuses = recordStatus(provider)
    lastSocket().sync()
    lastSocket().serverClose(code, 'room deleted')
    expect(statuses.at(-1)).toEqual({ status: 'disconnected', closeCode: code, reason: 'room deleted', permanent: true })
    vi.advanceTimersByTime(10 * 60_000)
    expect(sockets).toHaveLength(1)
    expect(provider.status).toBe('disconnected')

    provider.connect()
    expect(sockets).toHaveLength(2)
  })

  it.each([4399, 4500, 1011, 1001])('retries after close code %i', (code) => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    makeProvider()
    lastSocket().sync()
    lastSocket().serverClose(code)
    expectNextAttemptAfter(0)
  })

  it('on 4001 fetches a fresh token and reconnects at once, but backs off if it keeps happening', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    let n = 0
    const token = vi.fn(() => `tok-${++n}`)
    makeProvider({ token })
    lastSocket().sync()
    expect(lastSocket().url).toContain('token=tok-1')

    lastSocket().serverClose(4001, 'token expired')
    expectNextAttemptAfter(0)
    expect(lastSocket().url).toContain('token=tok-2')

    // Expired again before syncing: no tight loop, normal backoff.
    lastSocket().open()
    lastSocket().serverClose(4001, 'token expired')
    expectNextAttemptAfter(50)
    expect(lastSocket().url).toContain('token=tok-3')

    // A sync re-arms the immediate retry.
    lastSocket().sync()
    lastSocket().serverClose(4001, 'token expired')
    expectNextAttemptAfter(0)
    expect(token).toHaveBeenCalledTimes(4)
  })

  it('calls an async token function before every attempt', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    let n = 0
    const token = vi.fn(async () => `tok-${++n}`)
    makeProvider({ token })
    await vi.advanceTimersByTimeAsync(0)
    for (let i = 0; i < 3; i++) {
      lastSocket().serverClose(1006)
      await vi.advanceTimersByTimeAsync(0)
    }
    expect(token).toHaveBeenCalledTimes(4)
    expect(sockets.map((s) => new URL(s.url).searchParams.get('token'))).toEqual(['tok-1', 'tok-2', 'tok-3', 'tok-4'])
  })

  it('retries with backoff when the token function rejects or throws', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const token = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(new Error('auth service down'))
      .mockImplementationOnce(() => {
        throw new Error('sync throw')
      })
      .mockResolvedValue('ok')
    const provider = makeProvider({ token })
    const errors: unknown[] = []
    provider.on('connection-error', (e) => errors.push(e))
    const statuses = recordStatus(provider)

    await vi.advanceTimersByTimeAsync(0)
    expect(sockets).toHaveLength(0)
    expect(errors).toEqual([new Error('auth service down')])
    expect(statuses.at(-1)).toMatchObject({ status: 'disconnected', retryInMs: 50 })

    await vi.advanceTimersByTimeAsync(50)
    expect(errors).toEqual([new Error('auth service down'), new Error('sync throw')])
    await vi.advanceTimersByTimeAsync(100)
    expect(sockets).toHaveLength(1)
    expect(lastSocket().url).toContain('token=ok')
  })

  it('rotates through a list of servers, one per attempt', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    makeProvider({ url: ['ws://a', 'ws://b/', 'ws://c'] })
    for (let i = 0; i < 3; i++) {
      lastSocket().serverClose(1006)
      vi.advanceTimersByTime(0)
    }
    expect(sockets.map((s) => s.url)).toEqual(['ws://a/room', 'ws://b/room', 'ws://c/room', 'ws://a/room'])
  })

  it('calls a url function per attempt', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const url = vi.fn().mockReturnValueOnce('ws://one').mockReturnValue('ws://two')
    makeProvider({ url })
    lastSocket().serverClose(1006)
    vi.advanceTimersByTime(0)
    expect(sockets.map((s) => s.url)).toEqual(['ws://one/room', 'ws://two/room'])
  })

  it('does not reconnect after disconnect() until connect()', () => {
    const provider = makeProvider()
    const statuses = recordStatus(provider)
    lastSocket().sync()
    provider.disconnect()
    expect(statuses.at(-1)).toMatchObject({ status: 'disconnected' })
    expect(statuses.at(-1)?.retryInMs).toBeUndefined()
    vi.advanceTimersByTime(10 * 60_000)
    expect(sockets).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(1) // only the awareness' own interval
    provider.connect()
    expect(sockets).toHaveLength(2)
  })

  it('lets a status listener call disconnect() while connecting, before any socket exists', () => {
    const provider = makeProvider({ connect: false })
    provider.on('status', (e) => {
      if (e.status === 'connecting') provider.disconnect()
    })
    provider.connect()
    expect(sockets).toHaveLength(0)
    expect(provider.status).toBe('disconnected')
    vi.advanceTimersByTime(60_000)
    expect(sockets).toHaveLength(0)
  })

  it('lets a status listener call connect() without creating a second socket', () => {
    const provider = makeProvider()
    provider.on('status', (e) => {
      if (e.status === 'disconnected') provider.connect()
    })
    lastSocket().serverClose(1006)
    expect(sockets).toHaveLength(2)
    expect(provider.status).toBe('connecting')
    vi.advanceTimersByTime(5_000) // past any backoff (max 1 s), before the dead-link timeout
    expect(sockets).toHaveLength(2)
  })
})

describe('dead link', () => {
  it('keeps a link that hears keep-alives, and replaces one that goes silent', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const provider = makeProvider({ deadLinkTimeoutMs: 30_000 })
    const closes: (CloseInfo | null)[] = []
    provider.on('connection-close', (c) => closes.push(c))
    const statuses = recordStatus(provider)
    const socket = lastSocket()
    socket.sync()
    for (let i = 0; i < 8; i++) {
      vi.advanceTimersByTime(15_000)
      socket.receive(KEEP_ALIVE)
    }
    expect(socket.closedWith).toBeUndefined()
    expect(sockets).toHaveLength(1)

    vi.advanceTimersByTime(29_999)
    expect(socket.closedWith).toBeUndefined()
    vi.advanceTimersByTime(1)
    expect(socket.closedWith?.code).toBe(1000)
    expect(closes).toEqual([null])
    expect(statuses.at(-1)).toMatchObject({ status: 'disconnected', reason: expect.stringMatching(/nothing received/) as string })
    expectNextAttemptAfter(0)
  })

  it('gives up on a handshake that never completes', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    makeProvider({ deadLinkTimeoutMs: 10_000 })
    vi.advanceTimersByTime(9_999)
    expect(lastSocket().closedWith).toBeUndefined()
    vi.advanceTimersByTime(1)
    expect(lastSocket().closedWith).toBeDefined()
    expectNextAttemptAfter(0)
  })

  it('gives up on a token function that never settles', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const token = vi.fn().mockReturnValueOnce(new Promise<string>(() => {})).mockResolvedValue('ok')
    makeProvider({ token, deadLinkTimeoutMs: 10_000 })
    await vi.advanceTimersByTimeAsync(9_999)
    expect(token).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(2)
    expect(token).toHaveBeenCalledTimes(2)
    expect(sockets).toHaveLength(1)
  })
})

describe('online event', () => {
  it('reconnects at once when the browser comes back online, and stops listening on destroy', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.99)
    const win = new EventTarget()
    const removeSpy = vi.spyOn(win, 'removeEventListener')
    vi.stubGlobal('window', win)
    // No dead-link timer here, so the only way to a new socket is the backoff timer or 'online'.
    const provider = makeProvider({ initialBackoffMs: 60_000, maxBackoffMs: 60_000, deadLinkTimeoutMs: Infinity })

    // While connected, 'online' changes nothing.
    lastSocket().sync()
    win.dispatchEvent(new Event('online'))
    expect(sockets).toHaveLength(1)

    lastSocket().serverClose(1006)
    vi.advanceTimersByTime(1000)
    expect(sockets).toHaveLength(1)
    win.dispatchEvent(new Event('online'))
    expect(sockets).toHaveLength(2)
    // The pending backoff timer was cancelled, not left to fire a second attempt.
    expect(vi.getTimerCount()).toBe(1) // only the awareness' own interval
    vi.advanceTimersByTime(120_000)
    expect(sockets).toHaveLength(2)

    lastSocket().serverClose(1006)
    provider.destroy()
    expect(removeSpy).toHaveBeenCalledWith('online', expect.any(Function))
    win.dispatchEvent(new Event('online'))
    expect(sockets).toHaveLength(2)
  })

  it('does not revive a provider after disconnect() or a permanent close', () => {
    const win = new EventTarget()
    vi.stubGlobal('window', win)
    const provider = makeProvider()
    lastSocket().serverClose(4403)
    win.dispatchEvent(new Event('online'))
    expect(sockets).toHaveLength(1)
    provider.connect()
    provider.disconnect()
    win.dispatchEvent(new Event('online'))
    expect(sockets).toHaveLength(2)
  })
})
