/**
 * The fake server of SyncProvider's behaviour tests (lifecycle, sync, awareness, reconnecting)
 * and the Link's: a scriptable in-memory WebSocket the test plays the server through, on fake
 * timers.
 * Each test file calls useFakeSockets() once.
 */
import { afterEach, beforeEach, expect, vi } from 'vitest'
import * as Y from 'yjs'
import { type Frame, readFrame, writeSyncStep2 } from '../../protocol/frame.js'
import { type StatusEvent, SyncProvider, type SyncProviderOptions } from '../provider.js'

// ---------------------------------------------------------------------------------------------
// A scriptable in-memory WebSocket: the test plays the server.

export class FakeSocket {
  binaryType = 'blob'
  readyState = 0
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number; reason: string }) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  readonly sent: Uint8Array[] = []
  closedWith: { code: number | undefined; reason: string | undefined } | undefined

  constructor(readonly url: string) {}

  send(data: Uint8Array): void {
    if (this.readyState !== 1) throw new Error('send() on a socket that is not open')
    this.sent.push(data.slice())
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason }
    this.readyState = 3
  }

  // --- the server's side
  open(): void {
    this.readyState = 1
    this.onopen?.({ type: 'open' })
  }

  receive(data: Uint8Array | string): void {
    this.onmessage?.({ data: typeof data === 'string' ? data : data.slice().buffer })
  }

  /** Opens and completes the sync handshake from an empty server document. */
  sync(): void {
    this.open()
    this.receive(writeSyncStep2(Y.encodeStateAsUpdate(new Y.Doc())))
  }

  serverClose(code = 1006, reason = ''): void {
    this.readyState = 3
    this.onclose?.({ code, reason })
  }

  frames(): Frame[] {
    return this.sent.map((bytes) => readFrame(bytes))
  }

  framesOfType<T extends Frame['type']>(type: T): Extract<Frame, { type: T }>[] {
    return this.frames().filter((f): f is Extract<Frame, { type: T }> => f.type === type)
  }
}

/** Every socket created since the test began, oldest first. */
export const sockets: FakeSocket[] = []
export class FakeWebSocket extends FakeSocket {
  constructor(url: string) {
    super(url)
    sockets.push(this)
  }
}
export const lastSocket = (): FakeSocket => {
  const s = sockets.at(-1)
  if (s === undefined) throw new Error('no socket was created')
  return s
}

/** Destroyed after each test; makeProvider adds to it. */
export const providers: SyncProvider[] = []

/** A provider on FakeWebSocket with short backoffs; destroyed after the test. */
export function makeProvider(options: Partial<SyncProviderOptions> = {}): SyncProvider {
  const provider = new SyncProvider({
    url: 'ws://server.test',
    room: 'room',
    doc: new Y.Doc(),
    WebSocket: FakeWebSocket,
    // These tests are about one transport's attempts (transport.test.ts is about moving between them).
    transport: 'websocket',
    initialBackoffMs: 100,
    maxBackoffMs: 1000,
    ...options,
  })
  providers.push(provider)
  return provider
}

export function recordStatus(provider: SyncProvider): StatusEvent[] {
  const events: StatusEvent[] = []
  provider.on('status', (e) => events.push(e))
  return events
}

/**
 * Asserts the next connection attempt happens exactly `ms` after now. A 0 ms timer set inside
 * another timer's callback fires after 1 ms (browsers and @sinonjs/fake-timers alike), so 0
 * means "within 1 ms".
 */
export function expectNextAttemptAfter(ms: number): void {
  const before = sockets.length
  const at = Math.max(ms, 1)
  vi.advanceTimersByTime(at - 1)
  if (ms > 0) expect(sockets.length, `no attempt before ${ms} ms`).toBe(before)
  vi.advanceTimersByTime(1)
  expect(sockets.length, `an attempt at ${ms} ms`).toBe(before + 1)
}

export const observerCount = (o: { _observers: Map<unknown, Set<unknown>> }): number =>
  [...o._observers.values()].reduce((n, set) => n + set.size, 0)

/** An awareness frame with no entries: the server's keep-alive. */
export const KEEP_ALIVE = new Uint8Array([1, 1, 0])

/** Fake timers and a fresh socket list for each test; every provider made is destroyed after it. */
export function useFakeSockets(): void {
  beforeEach(() => {
    sockets.length = 0
    vi.useFakeTimers()
  })

  afterEach(() => {
    for (const p of providers.splice(0)) p.destroy()
    vi.useRealTimers()
    vi.restoreAllMocks()
    vi.unstubAllGlobals()
  })
}
