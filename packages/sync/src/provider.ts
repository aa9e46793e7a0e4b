import * as Y from 'yjs'
import { ObservableV2 } from 'lib0/observable'
import * as awarenessProtocol from 'y-protocols/awareness'
import { CloseCode, ProtocolError, isPermanentClose } from './errors.js'
import {
  type Frame,
  isEmptyUpdate,
  readAwarenessUpdate,
  readFrame,
  validateUpdate,
  writeAwareness,
  writeSyncStep1,
  writeSyncStep2,
  writeSyncUpdate,
} from './frame.js'
import { roomToPath, validateRoomName } from './room-name.js'
import { type BackoffOptions, backoffDelay } from './backoff.js'

// ---------------------------------------------------------------------------------------------
// The WebSocket surface the provider needs. Structural, so the browser's WebSocket and the `ws`
// package's WebSocket both fit without casts or wrappers.

/**
 * A callback type checked bivariantly (the pattern React's typings use). The DOM and `ws` declare
 * their handlers with richer event types than the provider reads; a plain function type would
 * reject them under strictFunctionTypes.
 */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack']

/** The subset of the WebSocket API (WHATWG / `ws`) the provider uses. */
export interface WebSocketLike {
  binaryType: string
  readonly readyState: number
  onopen: Handler<unknown> | null
  onmessage: Handler<{ readonly data: unknown }> | null
  onclose: Handler<{ readonly code: number; readonly reason: string }> | null
  onerror: Handler<unknown> | null
  send(data: Uint8Array): void
  close(code?: number, reason?: string): void
}

/** A WebSocket class: `globalThis.WebSocket` in browsers and Node ≥ 22, `ws`'s default export elsewhere. */
export type WebSocketConstructor = new (url: string) => WebSocketLike

// ---------------------------------------------------------------------------------------------
// Public types.

/** Where to connect: one base URL, a list tried in turn (next one on every attempt), or a function called per attempt. */
export type UrlSource = string | readonly string[] | (() => string)

/** A token, or a function called before EVERY connection attempt so a reconnect carries a fresh one. */
export type TokenSource = string | (() => string | PromiseLike<string>)

/** Connection state as a UI would show it. */
export type ProviderStatus = 'connecting' | 'connected' | 'disconnected'

/** Payload of the 'status' event. */
export interface StatusEvent {
  status: ProviderStatus
  /** Close code of the socket that just closed (absent when the provider closed it itself). */
  closeCode?: number
  /** Why: the server's close reason, its permission-denied reason, or why the provider closed. */
  reason?: string
  /** True when the server closed with 4400-4499: the provider will not retry until connect(). */
  permanent?: boolean
  /** Present on 'disconnected' when a retry is scheduled: its delay in ms. */
  retryInMs?: number
}

/** How a socket closed; `null` in 'connection-close' when the provider closed it itself. */
export interface CloseInfo {
  code: number
  reason: string
}

/** Events of SyncProvider (lib0 ObservableV2: `provider.on(name, fn)`, `provider.off(name, fn)`). */
export interface SyncProviderEvents {
  /**
   * Every status change. Also emitted without a change of status, carrying `reason`, when the
   * server sends a permission-denied message (it closes the socket right after).
   */
  status: (event: StatusEvent) => void
  /** True once the server's sync step 2 has been applied; false when that connection ends. */
  synced: (synced: boolean) => void
  /**
   * A connection attempt or connection failed: the socket's error event, a ProtocolError for a
   * malformed frame from the server, or what the url/token function threw or rejected with.
   */
  'connection-error': (error: unknown, provider: SyncProvider) => void
  /** A socket closed: the close code and reason, or null when the provider closed it itself. */
  'connection-close': (close: CloseInfo | null, provider: SyncProvider) => void
}

/** Options of `new SyncProvider(...)`. */
export interface SyncProviderOptions {
  /** Server base URL (ws://host:port or wss://…), a list of them, or a function returning one. */
  url: UrlSource
  /** Room name; the socket connects to `<url>/<encodeURIComponent(room)>`. */
  room: string
  doc: Y.Doc
  /** Defaults to `new Awareness(doc)`, which the provider then also destroys. */
  awareness?: awarenessProtocol.Awareness
  /** Defaults to `globalThis.WebSocket`. Pass `ws`'s WebSocket on Node < 22. */
  WebSocket?: WebSocketConstructor
  /** Sent as `?token=`. A function is called before every attempt. */
  token?: TokenSource
  /** Connect immediately. Default true. */
  connect?: boolean
  /** Extra query parameters for every connection URL. */
  params?: Readonly<Record<string, string>>
  /** Longest wait between attempts, ms. Default 30 000. */
  maxBackoffMs?: number
  /** Ceiling of the first retry's random delay, ms; doubles per failed attempt. Default 250. */
  initialBackoffMs?: number
  /**
   * Close and reconnect when nothing arrives for this long, ms. Also bounds an attempt whose
   * token or handshake never completes. The server's keep-alive comes at least every 15 s.
   * Default 30 000; Infinity disables it.
   */
  deadLinkTimeoutMs?: number
}

// ---------------------------------------------------------------------------------------------

const OPEN = 1 // WebSocket.OPEN; the same constant in every implementation
const NORMAL_CLOSE = CloseCode.Normal // browsers reject any other code below 3000 in close()
const MAX_TIMER_MS = 2 ** 31 - 1 // setTimeout fires at once for anything larger
const ignore = (): void => {}

type Timer = ReturnType<typeof setTimeout>

/** Minimal `window` surface for the 'online' event. */
interface OnlineTarget {
  addEventListener(type: 'online', listener: () => void): void
  removeEventListener(type: 'online', listener: () => void): void
}

/** What ended a connection or attempt, as connectionLost needs it. */
interface Loss {
  /** The server's close; null when the provider gave up on the socket itself. */
  close: CloseInfo | null
  /** Human-readable reason for a loss the provider caused. */
  reason?: string
  error?: unknown
}

/** Binary frame bytes from a message event's data, without copying. */
function toBytes(data: unknown): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  // An ArrayBuffer from another realm (iframe, jsdom) fails instanceof.
  if (Object.prototype.toString.call(data) === '[object ArrayBuffer]') return new Uint8Array(data as ArrayBuffer)
  throw new ProtocolError('text or unknown frame from server', CloseCode.UnsupportedData, 'text-frame')
}

function onlineTarget(): OnlineTarget | null {
  // Guarded at run time: the module must load in Node and workers, where there is no window.
  return typeof window !== 'undefined' && typeof window.addEventListener === 'function' ? window : null
}

function defaultWebSocket(): WebSocketConstructor | undefined {
  return typeof WebSocket === 'function' ? WebSocket : undefined
}

function checkMs(name: string, value: number, allowInfinity: boolean): number {
  const ok = value >= 0 && (Number.isFinite(value) || (allowInfinity && value === Infinity))
  if (!ok) throw new RangeError(`SyncProvider: ${name} must be a non-negative number of ms, got ${value}`)
  return value
}

/**
 * A Yjs sync client speaking y-websocket's protocol, for browsers and Node (WebSocket injected).
 *
 * Reconnects with full-jitter exponential backoff, rotates through a list of servers, fetches a
 * fresh token per attempt, detects dead links, and stops for good on close codes 4400-4499.
 * `destroy()` undoes every listener and timer it set up.
 */
export class SyncProvider extends ObservableV2<SyncProviderEvents> {
  readonly doc: Y.Doc
  readonly awareness: awarenessProtocol.Awareness
  readonly room: string

  private readonly ownsAwareness: boolean
  private readonly urls: string | readonly string[] | (() => string)
  private urlCursor = 0
  private readonly token: TokenSource | undefined
  private readonly params: Readonly<Record<string, string>>
  private readonly WebSocketImpl: WebSocketConstructor
  private readonly backoff: BackoffOptions
  private readonly deadLinkTimeoutMs: number
  private readonly online: OnlineTarget | null

  private socket: WebSocketLike | null = null
  /** The url/token of attempt `attemptId` are being resolved; no socket exists yet. */
  private resolving = false
  /** Bumped when an attempt starts or is abandoned, so a token promise that settles late knows it is stale. */
  private attemptId = 0
  /** The user's intent (connect()/disconnect()), also cleared by a permanent close. */
  private shouldConnect: boolean
  /** Consecutive attempts that did not reach `synced`: the backoff exponent. */
  private failures = 0
  /** 4001 already triggered an immediate retry since the last sync; the next one backs off. */
  private tokenRetried = false
  private retryTimer: Timer | undefined
  private deadLinkTimer: Timer | undefined
  private lastActivityAt = 0
  private deniedReason: string | undefined
  private _status: ProviderStatus = 'disconnected'
  /** Bumped on every status change, so a half-emitted sequence can tell a listener moved on. */
  private statusSeq = 0
  private _synced = false
  private destroyed = false

  constructor(options: SyncProviderOptions) {
    super()
    // Validate everything before creating anything that would need undoing.
    const WebSocketImpl = options.WebSocket ?? defaultWebSocket()
    if (WebSocketImpl === undefined) {
      throw new TypeError('SyncProvider: no global WebSocket; pass options.WebSocket (e.g. the `ws` package)')
    }
    if (Array.isArray(options.url) && options.url.length === 0) {
      throw new RangeError('SyncProvider: url list is empty')
    }
    this.room = validateRoomName(options.room)
    this.backoff = {
      initialMs: checkMs('initialBackoffMs', options.initialBackoffMs ?? 250, false),
      maxMs: checkMs('maxBackoffMs', options.maxBackoffMs ?? 30_000, false),
    }
    this.deadLinkTimeoutMs = checkMs('deadLinkTimeoutMs', options.deadLinkTimeoutMs ?? 30_000, true)
    if (this.deadLinkTimeoutMs === 0) throw new RangeError('SyncProvider: deadLinkTimeoutMs must be > 0')

    this.WebSocketImpl = WebSocketImpl
    this.urls = typeof options.url === 'string' || typeof options.url === 'function' ? options.url : [...options.url]
    this.token = options.token
    this.params = { ...options.params }
    this.shouldConnect = options.connect ?? true
    this.doc = options.doc
    this.ownsAwareness = options.awareness === undefined
    this.awareness = options.awareness ?? new awarenessProtocol.Awareness(this.doc)
    this.online = onlineTarget()

    this.doc.on('update', this.onDocUpdate)
    this.awareness.on('update', this.onAwarenessUpdate)
    this.online?.addEventListener('online', this.onOnline)
    if (this.shouldConnect) this.connect()
  }

  /** Connection state; see the 'status' event. */
  get status(): ProviderStatus {
    return this._status
  }

  /** True once the server's state has been applied on the current connection. */
  get synced(): boolean {
    return this._synced
  }

  /** Connect (again), including after disconnect() or a permanent close. No-op after destroy(). */
  connect(): void {
    if (this.destroyed) return
    this.shouldConnect = true
    if (this.socket !== null || this.resolving) return
    this.clearRetryTimer()
    this.startAttempt()
  }

  /** Close the connection and stop reconnecting until connect(). Peers see our awareness leave. */
  disconnect(): void {
    this.shouldConnect = false
    this.clearRetryTimer()
    if (this.socket !== null || this.resolving) {
      this.announceLeave()
      this.connectionLost({ close: null, reason: 'disconnect() called' })
    }
  }

  /** Disconnect and remove every listener and timer the provider set up. Idempotent. */
  destroy(): void {
    if (this.destroyed) return
    // Set first, so a 'status' listener calling connect() during disconnect() cannot revive us.
    this.destroyed = true
    try {
      this.disconnect() // emits: a throwing listener must not leave timers and listeners behind
    } finally {
      this.clearRetryTimer()
      this.clearDeadLinkTimer()
      this.online?.removeEventListener('online', this.onOnline)
      this.doc.off('update', this.onDocUpdate)
      this.awareness.off('update', this.onAwarenessUpdate)
      if (this.ownsAwareness) this.awareness.destroy()
      super.destroy()
    }
  }

  // -------------------------------------------------------------------------------------------
  // Attempts and sockets.

  private startAttempt(): void {
    const id = ++this.attemptId
    this.resolving = true
    this.deniedReason = undefined
    this.lastActivityAt = Date.now()
    // The dead-link timer also bounds a token function or a handshake that never settles.
    this.armDeadLinkTimer()
    this.setStatus({ status: 'connecting' })
    if (id !== this.attemptId) return // a 'status' listener called disconnect() or destroy()

    let base: string
    let token: string | PromiseLike<string> | undefined
    try {
      base = this.nextBaseUrl()
      token = typeof this.token === 'function' ? this.token() : this.token
    } catch (error) {
      this.connectionLost({ close: null, reason: 'url or token function threw', error })
      return
    }
    if (typeof token === 'string' || token === undefined) {
      this.openSocket(base, token)
      return
    }
    Promise.resolve(token).then(
      (value) => {
        if (id === this.attemptId && this.resolving) this.openSocket(base, value)
      },
      (error: unknown) => {
        if (id === this.attemptId && this.resolving) {
          this.connectionLost({ close: null, reason: 'token function rejected', error })
        }
      },
    )
  }

  private nextBaseUrl(): string {
    const urls = this.urls
    if (typeof urls === 'string') return urls
    if (typeof urls === 'function') return urls()
    // Rotating per attempt moves clients off a dead server without any health checking.
    const url = urls[this.urlCursor % urls.length]
    this.urlCursor = (this.urlCursor + 1) % urls.length
    return url
  }

  private connectionUrl(base: string, token: string | undefined): string {
    const query = new URLSearchParams(this.params)
    if (token !== undefined && token !== '') query.set('token', token)
    const qs = query.toString()
    return `${base.replace(/\/+$/, '')}/${roomToPath(this.room)}${qs === '' ? '' : `?${qs}`}`
  }

  private openSocket(base: string, token: string | undefined): void {
    let ws: WebSocketLike
    try {
      ws = new this.WebSocketImpl(this.connectionUrl(base, token))
    } catch (error) {
      this.connectionLost({ close: null, reason: 'WebSocket constructor threw', error })
      return
    }
    this.resolving = false
    this.socket = ws
    ws.binaryType = 'arraybuffer'
    ws.onopen = this.onSocketOpen
    ws.onmessage = this.onSocketMessage
    ws.onclose = this.onSocketClose
    ws.onerror = this.onSocketError
  }

  private readonly onSocketOpen = (): void => {
    const ws = this.socket
    this.lastActivityAt = Date.now()
    this.send(writeSyncStep1(this.doc))
    const state = this.awareness.getLocalState()
    if (state !== null) {
      // Re-set rather than re-send: a server that saw our previous connection close removed our
      // state but kept its clock, and ignores a state whose clock is not newer. Bumping the clock
      // makes peers see us at once instead of at the next 15 s renewal. onAwarenessUpdate sends it.
      this.awareness.setLocalState(state)
      if (this.socket !== ws) return // an awareness listener disconnected us
    }
    this.setStatus({ status: 'connected' })
  }

  private readonly onSocketMessage = (event: { readonly data: unknown }): void => {
    this.lastActivityAt = Date.now()
    let frame: Frame
    try {
      frame = readFrame(toBytes(event.data))
      checkPayload(frame)
    } catch (error) {
      // Malformed input, and none of it applied. Drop this connection; the next one's sync
      // exchange repairs whatever the bad message was meant to carry.
      this.connectionLost({ close: null, reason: 'malformed message from server', error })
      return
    }
    // Not caught: from here on a throw comes from doc, awareness or provider listeners, i.e.
    // application code. Treating it as a bad connection would reconnect in a loop, since the
    // server replays the same state on every connect; it propagates like any handler error.
    this.handleFrame(frame)
  }

  private readonly onSocketClose = (event: { readonly code: number; readonly reason: string }): void => {
    this.connectionLost({ close: { code: event.code, reason: event.reason } })
  }

  private readonly onSocketError = (event: unknown): void => {
    // The close event follows; it decides about retrying.
    this.emit('connection-error', [event, this])
  }

  /**
   * The one place frames leave the provider. Frames are dropped while not open: the sync
   * exchange on the next open carries whatever was missed. (Acks for unsynced changes go here.)
   */
  private send(frame: Uint8Array): void {
    const ws = this.socket
    if (ws !== null && ws.readyState === OPEN) ws.send(frame)
  }

  private isOpen(): boolean {
    return this.socket !== null && this.socket.readyState === OPEN
  }

  /**
   * Ends the current socket or attempt and decides whether and when to retry. All state changes
   * happen first and events are emitted last, so a listener calling connect(), disconnect() or
   * destroy() sees a consistent provider.
   */
  private connectionLost(loss: Loss): void {
    const ws = this.socket
    if (ws === null && !this.resolving) return
    const wasConnected = this._status === 'connected'
    const wasSynced = this._synced
    this.socket = null
    this.resolving = false
    this.attemptId++
    this.clearDeadLinkTimer()
    if (ws !== null) {
      detach(ws)
      if (loss.close === null) closeQuietly(ws, loss.reason ?? '')
    }

    const permanent = loss.close !== null && isPermanentClose(loss.close.code)
    if (permanent) this.shouldConnect = false
    const retryInMs = this.shouldConnect && !this.destroyed ? this.nextRetryDelay(loss.close) : undefined
    const event: StatusEvent = { status: 'disconnected' }
    if (loss.close !== null) event.closeCode = loss.close.code
    const reason = loss.close?.reason || this.deniedReason || loss.reason
    if (reason) event.reason = reason
    if (permanent) event.permanent = true
    if (retryInMs !== undefined) {
      event.retryInMs = retryInMs
      this.clearRetryTimer()
      this.retryTimer = setTimeout(this.onRetryTimer, Math.min(retryInMs, MAX_TIMER_MS))
    }
    this._synced = false
    this._status = 'disconnected'
    const seq = ++this.statusSeq

    // Emit. Stop as soon as a listener has started a new attempt: what follows would be stale.
    if (wasConnected) this.removeRemoteAwareness()
    if (loss.error !== undefined) this.emit('connection-error', [loss.error, this])
    if (seq === this.statusSeq && wasSynced) this.emit('synced', [false])
    if (seq === this.statusSeq && ws !== null) this.emit('connection-close', [loss.close, this])
    if (seq === this.statusSeq) this.emit('status', [event])
  }

  private nextRetryDelay(close: CloseInfo | null): number {
    // 4001: the token expired while connected. Retry at once with a fresh one, but only once
    // per successful sync, so a token function that keeps handing out stale tokens backs off.
    if (close?.code === CloseCode.TokenExpired && !this.tokenRetried) {
      this.tokenRetried = true
      return 0
    }
    return backoffDelay(this.failures++, this.backoff)
  }

  private readonly onRetryTimer = (): void => {
    this.retryTimer = undefined
    if (this.shouldConnect && !this.destroyed && this.socket === null && !this.resolving) this.startAttempt()
  }

  private readonly onOnline = (): void => {
    // The network is back: waiting out the backoff would only delay the user.
    if (this.retryTimer === undefined || !this.shouldConnect || this.destroyed) return
    this.clearRetryTimer()
    this.startAttempt()
  }

  private clearRetryTimer(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
  }

  // -------------------------------------------------------------------------------------------
  // Dead link: one timer re-armed only when it fires (not per message, which is the hot path).

  private armDeadLinkTimer(): void {
    this.clearDeadLinkTimer()
    if (this.deadLinkTimeoutMs === Infinity) return
    const wait = this.lastActivityAt + this.deadLinkTimeoutMs - Date.now()
    this.deadLinkTimer = setTimeout(this.onDeadLinkTimer, Math.min(Math.max(0, wait), MAX_TIMER_MS))
  }

  private clearDeadLinkTimer(): void {
    if (this.deadLinkTimer !== undefined) clearTimeout(this.deadLinkTimer)
    this.deadLinkTimer = undefined
  }

  private readonly onDeadLinkTimer = (): void => {
    this.deadLinkTimer = undefined
    if (this.socket === null && !this.resolving) return
    const now = Date.now()
    // A wall clock set backwards would otherwise postpone detection by the size of the jump.
    if (now < this.lastActivityAt) this.lastActivityAt = now
    if (now - this.lastActivityAt < this.deadLinkTimeoutMs) {
      this.armDeadLinkTimer()
      return
    }
    // No onclose may ever come for a dead TCP connection, so give up on the socket ourselves.
    this.connectionLost({ close: null, reason: `nothing received for ${this.deadLinkTimeoutMs} ms` })
  }

  // -------------------------------------------------------------------------------------------
  // Inbound frames.

  private handleFrame(frame: Frame): void {
    switch (frame.type) {
      case 'sync-step1':
        this.send(writeSyncStep2(Y.encodeStateAsUpdate(this.doc, frame.stateVector)))
        return
      case 'sync-step2':
        try {
          this.applyRemoteUpdate(frame.update)
        } finally {
          // The update is fully integrated even when an observer throws (Yjs calls observers after).
          this.markSynced()
        }
        return
      case 'sync-update':
        this.applyRemoteUpdate(frame.update)
        return
      case 'awareness':
        this.applyRemoteAwareness(frame.update)
        return
      case 'query-awareness':
        this.send(
          writeAwareness(
            awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...this.awareness.getStates().keys()]),
          ),
        )
        return
      case 'auth-denied':
        // Remembered for the 'disconnected' event, since the server's close usually has no reason.
        this.deniedReason = frame.reason
        this.emit('status', [{ status: this._status, reason: frame.reason }])
        return
    }
  }

  private applyRemoteUpdate(update: Uint8Array): void {
    if (isEmptyUpdate(update)) return // what a synced peer sends as its step 2
    // Origin = this, so onDocUpdate does not echo the update back to the server.
    Y.applyUpdate(this.doc, update, this)
  }

  private applyRemoteAwareness(update: Uint8Array): void {
    if (isEmptyAwarenessUpdate(update)) return // the server's keep-alive
    awarenessProtocol.applyAwarenessUpdate(this.awareness, update, this)
  }

  private markSynced(): void {
    if (this._synced) return
    this._synced = true
    this.failures = 0
    this.tokenRetried = false
    this.emit('synced', [true])
  }

  // -------------------------------------------------------------------------------------------
  // Local changes.

  private readonly onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this || !this.isOpen()) return
    this.send(writeSyncUpdate(update))
  }

  private readonly onAwarenessUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    if (origin === this || !this.isOpen()) return
    // Only our own state is ours to announce ('local' from setLocalState, or an app removing
    // it). Re-sending remote peers' states, as y-websocket does, only echoes the server.
    const own = this.awareness.clientID
    if (added.includes(own) || updated.includes(own) || removed.includes(own)) {
      this.send(writeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, [own])))
    }
  }

  /** Tells peers we left (our state = null) without changing the local awareness. */
  private announceLeave(): void {
    if (!this.isOpen()) return
    const own = this.awareness.clientID
    this.send(writeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, [own], new Map())))
  }

  /** Offline, we cannot know who else is still there; y-websocket clears them the same way. */
  private removeRemoteAwareness(): void {
    const own = this.awareness.clientID
    const remote = [...this.awareness.getStates().keys()].filter((id) => id !== own)
    if (remote.length > 0) awarenessProtocol.removeAwarenessStates(this.awareness, remote, this)
    // Forget their clocks too: after we reconnect the server replays each peer's current state
    // with the clock we already saw, and applyAwarenessUpdate drops a state whose clock is not
    // newer, so peers would stay invisible until their next change or 15 s renewal.
    for (const id of this.awareness.meta.keys()) if (id !== own) this.awareness.meta.delete(id)
  }

  private setStatus(event: StatusEvent): void {
    this._status = event.status
    this.statusSeq++
    this.emit('status', [event])
  }
}

/**
 * Throws ProtocolError unless the frame's payload can be applied whole. Yjs can half-apply a
 * truncated update and applyAwarenessUpdate throws half-way through on bad JSON (DESIGN.md #6),
 * so nothing is applied before this passes.
 */
function checkPayload(frame: Frame): void {
  switch (frame.type) {
    case 'sync-step1':
      try {
        Y.decodeStateVector(frame.stateVector)
      } catch (err) {
        throw new ProtocolError(`invalid state vector: ${(err as Error).message}`, CloseCode.InvalidPayload, 'invalid-state-vector')
      }
      return
    case 'sync-step2':
    case 'sync-update':
      if (!isEmptyUpdate(frame.update)) validateUpdate(frame.update)
      return
    case 'awareness':
      if (!isEmptyAwarenessUpdate(frame.update)) readAwarenessUpdate(frame.update)
      return
    default:
      return
  }
}

/** The 1-byte update "0 entries": the server's keep-alive, checked without parsing. */
const isEmptyAwarenessUpdate = (update: Uint8Array): boolean => update.length === 1 && update[0] === 0

/** Stops a socket from reaching the provider again. */
function detach(ws: WebSocketLike): void {
  ws.onopen = null
  ws.onmessage = null
  ws.onclose = null
  // Swallowed rather than removed: closing a socket that is still connecting reports an error,
  // and `ws` (an EventEmitter) rethrows an 'error' nobody listens to as an uncaught exception.
  ws.onerror = ignore
}

function closeQuietly(ws: WebSocketLike, reason: string): void {
  try {
    // Close reasons are limited to 123 bytes; ours are short ASCII.
    ws.close(NORMAL_CLOSE, reason.slice(0, 120))
  } catch {
    // Nothing to do: the socket is abandoned either way, and a throw here would skip the retry.
  }
}
