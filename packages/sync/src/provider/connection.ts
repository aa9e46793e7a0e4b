/**
 * The connection half of SyncProvider: attempts, URLs and tokens, the subprotocol offer, the
 * backoff, dead-link detection and the status events. What travels over the socket is the
 * subclass's business (provider.ts), reached through a few protected hooks.
 */
import { ObservableV2 } from 'lib0/observable'
import { CloseCode, isPermanentClose } from '../protocol/errors.js'
import { type Frame, readFrame } from '../protocol/frame.js'
import { SAVED_ACK_PROTOCOL } from '../protocol/message-type.js'
import { validateRoomName } from '../protocol/room-name.js'
import { type BackoffOptions, backoffDelay } from './backoff.js'
import type { CloseInfo, ProviderStatus, StatusEvent, SyncProviderEvents, SyncProviderOptions } from './types.js'
import type { WebSocketConstructor, WebSocketLike } from './types.js'
import type { SyncProvider } from './provider.js'
import { DeadLinkWatch } from './dead-link.js'
import { MAX_TIMER_MS, OPEN, type OnlineTarget, type Timer, checkMs, checkPayload, closeQuietly } from './socket.js'
import { connectionUrl, defaultWebSocket, detach, isSubprotocolRejection, normalizeBase, onlineTarget, toBytes } from './socket.js'

/** What ended a connection or attempt, as connectionLost needs it. */
interface Loss {
  /** The server's close; null when the provider gave up on the socket itself. */
  close: CloseInfo | null
  /** Human-readable reason for a loss the provider caused. */
  reason?: string
  error?: unknown
  /** The server sent something unusable: this connection does not count as a success (backoff). */
  badInput?: boolean
  /** Do not retry until connect(), as after a 4400-4499 close. */
  permanent?: boolean
}

export abstract class ProviderConnection extends ObservableV2<SyncProviderEvents> {
  readonly room: string

  private readonly urls: string | readonly string[] | (() => string)
  private urlCursor = 0
  private readonly token: SyncProviderOptions['token']
  private readonly params: Readonly<Record<string, string>>
  private readonly WebSocketImpl: WebSocketConstructor
  private readonly backoff: BackoffOptions
  private readonly deadLink: DeadLinkWatch
  private readonly online: OnlineTarget | null
  private readonly offerAcks: boolean
  /** Base URLs whose server failed the handshake over our subprotocol offer: never offered again. */
  private readonly offerRejected = new Set<string>()

  private socket: WebSocketLike | null = null
  /** The current socket's attempt: what openSocket needs to redo it without the offer. */
  private socketBase = ''
  private socketToken: string | undefined
  private socketOffered = false
  private handshakeDone = false
  /** The url/token of attempt `attemptId` are being resolved; no socket exists yet. */
  private resolving = false
  /** Bumped when an attempt starts or is abandoned, so a token promise that settles late knows it is stale. */
  private attemptId = 0
  /** The user's intent (connect()/disconnect()), also cleared by a permanent close. */
  private shouldConnect: boolean
  /** Consecutive attempts that did not reach `synced`: the backoff exponent. */
  private failures = 0
  /** `failures` when the current attempt started: restored if it ends on bad input after syncing. */
  private failuresAtStart = 0
  /** 4001 already triggered an immediate retry since the last sync; the next one backs off. */
  private tokenRetried = false
  private retryTimer: Timer | undefined
  private deniedReason: string | undefined
  private _status: ProviderStatus = 'disconnected'
  /** Bumped on every status change, so a half-emitted sequence can tell a listener moved on. */
  private statusSeq = 0
  private _synced = false
  private destroyed = false

  /** Validates and stores the connection options; the subclass calls connect() when it is ready. */
  constructor(options: SyncProviderOptions) {
    super()
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
    const deadLinkTimeoutMs = checkMs('deadLinkTimeoutMs', options.deadLinkTimeoutMs ?? 30_000, true)
    if (deadLinkTimeoutMs === 0) throw new RangeError('SyncProvider: deadLinkTimeoutMs must be > 0')

    this.WebSocketImpl = WebSocketImpl
    this.deadLink = new DeadLinkWatch(deadLinkTimeoutMs, this.onDeadLink)
    this.urls = typeof options.url === 'string' || typeof options.url === 'function' ? options.url : [...options.url]
    this.token = options.token
    this.params = { ...options.params }
    this.offerAcks = options.savedAcks ?? true
    this.shouldConnect = options.connect ?? true
    this.online = onlineTarget()
    this.online?.addEventListener('online', this.onOnline)
  }

  // -------------------------------------------------------------------------------------------
  // Hooks for the subclass.

  /** The object handed to listeners as `provider`. */
  protected abstract provider(): SyncProvider
  /** A socket opened (`offered`: it offered SAVED_ACK_PROTOCOL). Status becomes 'connected' after. */
  protected abstract socketOpened(ws: WebSocketLike, offered: boolean): void
  /**
   * A well-formed frame arrived (auth-denied is handled here). Input it cannot use goes to
   * protocolViolation; anything it throws is taken for an application listener's error.
   */
  protected abstract frameReceived(frame: Frame): void
  /** disconnect() is about to close an open socket: last words. */
  protected abstract leaving(): void
  /** The connection or attempt ended; first thing emitted. `wasConnected`: it had opened. */
  protected abstract connectionEnded(wasConnected: boolean): void
  /** destroy(): undo whatever the subclass set up. Runs even when a listener threw. */
  protected abstract release(): void

  /** Connection state; see the 'status' event. */
  get status(): ProviderStatus {
    return this._status
  }

  /** True once the server's state has been applied on the current connection. */
  get synced(): boolean {
    return this._synced
  }

  /** True after the server said "permission denied" on the current connection (e.g. read-only). */
  protected get denied(): boolean {
    return this.deniedReason !== undefined
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
      if (this.isOpen()) this.leaving()
      this.connectionLost({ close: null, reason: 'disconnect() called' })
    }
  }

  /** Disconnect and remove every listener, timer and channel the provider set up. Idempotent. */
  destroy(): void {
    if (this.destroyed) return
    // Set first, so a 'status' listener calling connect() during disconnect() cannot revive us.
    this.destroyed = true
    try {
      this.disconnect() // emits: a throwing listener must not leave timers and listeners behind
    } finally {
      try {
        this.clearRetryTimer()
        this.deadLink.stop()
        this.online?.removeEventListener('online', this.onOnline)
        this.release()
      } finally {
        super.destroy()
      }
    }
  }

  /**
   * The one place frames leave the provider; true when the frame went out. Frames are dropped
   * while not open: the sync exchange on the next open carries whatever was missed.
   */
  protected send(frame: Uint8Array): boolean {
    const ws = this.socket
    if (ws === null || ws.readyState !== OPEN) return false
    ws.send(frame)
    return true
  }

  protected isOpen(): boolean {
    return this.socket !== null && this.socket.readyState === OPEN
  }

  /**
   * Drops the connection after input checkPayload cannot see was refused (an update Yjs could
   * not apply, broken awareness framing, an impossible acknowledgement). Retried with backoff
   * that a sync on that same connection does not reset, so a server repeating it cannot make
   * us loop.
   */
  protected protocolViolation(error: unknown): void {
    this.connectionLost({ close: null, reason: 'protocol violation by server', error, badInput: true })
  }

  /**
   * Stops for good (until connect()) because the Y.Doc is unusable, whether or not a
   * connection is open: carrying on would only show 'connected' over a document that no longer
   * sends or shows changes.
   */
  protected stopForGood(error: unknown, reason: string): void {
    if (this.socket !== null || this.resolving) {
      this.connectionLost({ close: null, reason, error, badInput: true, permanent: true })
      return
    }
    const wasStopped = !this.shouldConnect && this.retryTimer === undefined
    this.shouldConnect = false
    this.clearRetryTimer()
    this.emit('connection-error', [error, this.provider()])
    if (!wasStopped) this.setStatus({ status: 'disconnected', reason, permanent: true })
  }

  /**
   * An application listener threw while the provider handled a socket or tab event. Reported,
   * never rethrown: in a socket's or channel's event handler a throw is an uncaught exception
   * (fatal in Node), and treating it as a bad connection would reconnect in a loop, since the
   * server replays the same state on every connect.
   */
  protected listenerFailed(error: unknown): void {
    if ((this._observers.get('listener-error')?.size ?? 0) > 0) {
      try {
        this.emit('listener-error', [error, this.provider()])
        return
      } catch (thrown) {
        error = thrown
      }
    }
    globalThis.console?.error('SyncProvider: an event listener threw', error)
  }

  /** `handler`, with a throw reported by listenerFailed instead of escaping into the event loop. */
  protected guarded<A extends unknown[]>(handler: (...args: A) => void): (...args: A) => void {
    return (...args) => {
      try {
        handler(...args)
      } catch (error) {
        this.listenerFailed(error)
      }
    }
  }

  protected markSynced(): void {
    if (this._synced) return
    this._synced = true
    this.failures = 0
    this.tokenRetried = false
    this.emit('synced', [true])
  }

  // -------------------------------------------------------------------------------------------
  // Attempts and sockets.

  private startAttempt(): void {
    const id = ++this.attemptId
    this.failuresAtStart = this.failures
    this.resolving = true
    this.deniedReason = undefined
    // The dead-link timer also bounds a token function or a handshake that never settles.
    this.deadLink.start()
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
    // Guarded: a listener's throw in here would otherwise be an unhandled rejection.
    Promise.resolve(token).then(
      this.guarded((value: string) => {
        if (id === this.attemptId && this.resolving) this.openSocket(base, value)
      }),
      this.guarded((error: unknown) => {
        if (id === this.attemptId && this.resolving) {
          this.connectionLost({ close: null, reason: 'token function rejected', error })
        }
      }),
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

  private openSocket(base: string, token: string | undefined): void {
    const offer = this.offerAcks && !this.offerRejected.has(normalizeBase(base))
    let ws: WebSocketLike
    try {
      const url = connectionUrl(base, this.room, this.params, token)
      ws = offer ? new this.WebSocketImpl(url, SAVED_ACK_PROTOCOL) : new this.WebSocketImpl(url)
    } catch (error) {
      this.connectionLost({ close: null, reason: 'WebSocket constructor threw', error })
      return
    }
    this.resolving = false
    this.socket = ws
    this.socketBase = base
    this.socketToken = token
    this.socketOffered = offer
    this.handshakeDone = false
    ws.binaryType = 'arraybuffer'
    ws.onopen = this.onSocketOpen
    ws.onmessage = this.onSocketMessage
    ws.onclose = this.onSocketClose
    ws.onerror = this.onSocketError
  }

  // The socket's handlers. None lets a throw escape (see listenerFailed): input the provider
  // cannot use is refused where it is read, so whatever still throws is an application listener.

  private readonly onSocketOpen = this.guarded((): void => {
    const ws = this.socket
    if (ws === null) return
    this.handshakeDone = true
    this.deadLink.touch()
    try {
      this.socketOpened(ws, this.socketOffered)
    } finally {
      // Even when a listener threw: the socket is open either way.
      if (this.socket === ws) this.setStatus({ status: 'connected' }) // else a listener disconnected us
    }
  })

  private readonly onSocketMessage = this.guarded((event: { readonly data: unknown }): void => {
    this.deadLink.touch()
    let frame: Frame
    try {
      frame = readFrame(toBytes(event.data))
      checkPayload(frame)
    } catch (error) {
      // Malformed input, and none of it applied. Drop this connection; the next one's sync
      // exchange repairs whatever the bad message was meant to carry.
      this.connectionLost({ close: null, reason: 'malformed message from server', error, badInput: true })
      return
    }
    if (frame.type === 'auth-denied') {
      // Remembered for the 'disconnected' event, since the server's close usually has no reason.
      this.deniedReason = frame.reason
      this.emit('status', [{ status: this._status, reason: frame.reason }])
      return
    }
    // A throw from here on comes from doc, awareness or provider listeners, i.e. application
    // code (frameReceived refuses bad input itself): reported by `guarded`, connection kept.
    this.frameReceived(frame)
  })

  private readonly onSocketClose = this.guarded((event: { readonly code: number; readonly reason: string }): void => {
    this.connectionLost({ close: { code: event.code, reason: event.reason } })
  })

  private readonly onSocketError = this.guarded((event: unknown): void => {
    const ws = this.socket
    if (ws !== null && this.socketOffered && !this.handshakeDone && isSubprotocolRejection(event)) {
      // A server without the extension (`ws` clients only; browsers accept it). Not a failure:
      // redo the same attempt without the offer, and never offer to this URL again.
      this.offerRejected.add(normalizeBase(this.socketBase))
      detach(ws)
      this.socket = null
      this.resolving = true // so a throwing constructor in openSocket is handled as a loss
      this.openSocket(this.socketBase, this.socketToken)
      return
    }
    // The close event follows; it decides about retrying.
    this.emit('connection-error', [event, this.provider()])
  })

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
    this.deadLink.stop()
    if (ws !== null) {
      detach(ws)
      if (loss.close === null) closeQuietly(ws, loss.reason ?? '')
    }

    const permanent = loss.permanent === true || (loss.close !== null && isPermanentClose(loss.close.code))
    if (permanent) this.shouldConnect = false
    // A connection that synced and then delivered bad input was no success: without this, a
    // server that sends a bad frame right after every sync would be retried at initialBackoffMs.
    if (loss.badInput === true && this.failures < this.failuresAtStart) this.failures = this.failuresAtStart
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
    this.connectionEnded(wasConnected)
    if (loss.error !== undefined) this.emit('connection-error', [loss.error, this.provider()])
    if (seq === this.statusSeq && wasSynced) this.emit('synced', [false])
    if (seq === this.statusSeq && ws !== null) this.emit('connection-close', [loss.close, this.provider()])
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

  // Timer and 'online' callbacks: guarded like the socket's, for the same reason.

  private readonly onRetryTimer = this.guarded((): void => {
    this.retryTimer = undefined
    if (this.shouldConnect && !this.destroyed && this.socket === null && !this.resolving) this.startAttempt()
  })

  private readonly onOnline = this.guarded((): void => {
    // The network is back: waiting out the backoff would only delay the user.
    if (this.retryTimer === undefined || !this.shouldConnect || this.destroyed) return
    this.clearRetryTimer()
    this.startAttempt()
  })

  private clearRetryTimer(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
  }

  private readonly onDeadLink = this.guarded((): void => {
    if (this.socket === null && !this.resolving) return
    this.connectionLost({ close: null, reason: `nothing received for ${this.deadLink.timeoutMs} ms` })
  })

  private setStatus(event: StatusEvent): void {
    this._status = event.status
    this.statusSeq++
    this.emit('status', [event])
  }
}
