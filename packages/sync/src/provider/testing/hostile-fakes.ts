/**
 * Fakes for SyncProvider's hostile-input tests: a socket and a BroadcastChannel that deliver
 * synchronously, so a throw out of a handler lands in `escaped` (what a real socket or channel
 * would turn into an uncaught exception). Each test file calls useHostileFakes() once.
 */
import { afterEach, beforeEach, expect, vi } from 'vitest'
import * as Y from 'yjs'
import type { ProtocolError } from '../../protocol/errors.js'
import { writeSyncStep2 } from '../../protocol/frame.js'
import { type StatusEvent, SyncProvider, type SyncProviderOptions } from '../provider.js'
import { textUpdate } from './hostile-payloads.js'

// Fakes. A throw out of onmessage lands in `escaped`: with a real socket or channel it would be
// an uncaught exception.

/** What a handler let escape; a real socket or channel would make it an uncaught exception. */
export const escaped: unknown[] = []

function deliverTo(handler: ((event: { data: unknown }) => void) | null, data: unknown): void {
  try {
    handler?.({ data })
  } catch (error) {
    escaped.push(error)
  }
}

export const sockets: FakeSocket[] = []

export class FakeSocket {
  binaryType = 'blob'
  readyState = 0
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number; reason: string }) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  readonly sent: Uint8Array[] = []
  closed = false

  constructor(readonly url: string) {
    sockets.push(this)
  }

  send(data: Uint8Array): void {
    if (this.readyState !== 1) throw new Error('send() on a socket that is not open')
    this.sent.push(data.slice())
  }

  close(): void {
    this.closed = true
    this.readyState = 3
  }

  open(): void {
    this.readyState = 1
    try {
      this.onopen?.({})
    } catch (error) {
      escaped.push(error)
    }
  }

  receive(data: Uint8Array | string): void {
    deliverTo(this.onmessage, typeof data === 'string' ? data : data.slice().buffer)
  }

  serverClose(): void {
    this.readyState = 3
    this.onclose?.({ code: 1006, reason: '' })
  }

  /** Opens and completes the sync handshake; the server holds `update`. */
  sync(update: Uint8Array = Y.encodeStateAsUpdate(new Y.Doc())): void {
    this.open()
    this.receive(writeSyncStep2(update))
  }
}

export const channels: FakeChannel[] = []

export class FakeChannel {
  onmessage: ((event: { data: unknown }) => void) | null = null
  readonly posted: unknown[] = []
  closed = false

  constructor(readonly name: string) {
    channels.push(this)
  }

  postMessage(message: unknown): void {
    this.posted.push(message)
  }

  close(): void {
    this.closed = true
  }

  /** The id this tab announced in its hello: what a welcome must be addressed to. */
  get tabId(): string {
    const hello = this.posted.find((m) => (m as { t?: unknown }).t === 'hello') as { from: string }
    return hello.from
  }

  deliver(data: unknown): void {
    deliverTo(this.onmessage, data)
  }
}

const providers: SyncProvider[] = []

export function makeProvider(options: Partial<SyncProviderOptions> = {}): SyncProvider {
  const provider = new SyncProvider({
    url: 'ws://server.test',
    room: 'room',
    doc: new Y.Doc(),
    WebSocket: FakeSocket,
    initialBackoffMs: 100,
    maxBackoffMs: 1000,
    deadLinkTimeoutMs: Infinity,
    ...options,
  })
  providers.push(provider)
  return provider
}

export const lastSocket = (): FakeSocket => sockets.at(-1)!

export interface Recorded {
  statuses: StatusEvent[]
  connectionErrors: unknown[]
  dropped: { error: ProtocolError; source: string }[]
  listenerErrors: unknown[]
}

export function record(provider: SyncProvider): Recorded {
  const r: Recorded = { statuses: [], connectionErrors: [], dropped: [], listenerErrors: [] }
  provider.on('status', (e) => r.statuses.push(e))
  provider.on('connection-error', (e) => r.connectionErrors.push(e))
  provider.on('message-dropped', (error, source) => r.dropped.push({ error, source }))
  provider.on('listener-error', (e) => r.listenerErrors.push(e))
  return r
}

/** A provider synced with a server holding 'kept', presence set, and a recorder. */
export function syncedProvider(options: Partial<SyncProviderOptions> = {}): { provider: SyncProvider; socket: FakeSocket; events: Recorded } {
  const provider = makeProvider(options)
  const events = record(provider)
  provider.awareness.setLocalState({ user: 'me' })
  const socket = lastSocket()
  socket.sync(textUpdate('kept'))
  expect(provider.synced).toBe(true)
  return { provider, socket, events }
}

export const text = (provider: SyncProvider): string => provider.doc.getText('t').toString()
export const peers = (provider: SyncProvider): number[] =>
  [...provider.awareness.getStates().keys()].filter((id) => id !== provider.awareness.clientID).sort((a, b) => a - b)

/** Fake timers, fresh sockets, channels and `escaped` for each test; providers destroyed after it. */
export function useHostileFakes(): void {
  beforeEach(() => {
    sockets.length = 0
    channels.length = 0
    escaped.length = 0
    vi.useFakeTimers()
  })

  afterEach(() => {
    for (const p of providers.splice(0)) p.destroy()
    vi.useRealTimers()
    vi.restoreAllMocks()
  })
}
