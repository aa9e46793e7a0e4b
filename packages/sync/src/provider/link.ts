/**
 * The Link: SyncProvider's connection to a server. It owns the attempts (URL rotation, a fresh
 * token per attempt, the subprotocol offer), the socket, the backoff between attempts,
 * dead-link detection and the connection status. What travels over the socket is its owner's
 * business: the Link hands it well-formed frames, sends what it is given, and reports what
 * happened through the LinkEvents passed at construction. It holds no reference to its owner.
 */
import { CloseCode, isPermanentClose } from '../protocol/errors.js'
import { type Frame, readFrame } from '../protocol/frame.js'
import { SAVED_ACK_PROTOCOL } from '../protocol/message-type.js'
import { DeadLinkWatch } from './dead-link.js'
import { Dialer, type Target } from './dialer.js'
import { checkPayload } from './input.js'
import type { LinkEvents } from './link-events.js'
import { type LinkOptions, linkConfig } from './link-options.js'
import { RetryPolicy } from './retry.js'
import { type OnlineTarget, onlineTarget } from './runtime.js'
import { MAX_TIMER_MS, OPEN, type Timer, closeQuietly, detach, isSubprotocolRejection, toBytes } from './socket.js'
import { TransportChoice } from './transport-choice.js'
import type { CloseInfo, ProviderStatus, StatusEvent, TransportName, WebSocketLike } from './types.js'

export type { LinkEvents }

/** What ended a connection or attempt, as connectionLost needs it. */
interface Loss {
  /** The server's close; null when the Link gave up on the socket itself. */
  close: CloseInfo | null
  /** Human-readable reason for a loss the Link caused. */
  reason?: string
  error?: unknown
  /** The server sent something unusable: this connection does not count as a success (backoff). */
  badInput?: boolean
  /** Do not retry until connect(), as after a 4400-4499 close. */
  permanent?: boolean
  /** The handshake took too long (transport-choice.ts: a network-looking failure). */
  timedOut?: boolean
}

export class Link {
  readonly room: string

  private readonly events: LinkEvents
  private readonly dialer: Dialer
  private readonly retry: RetryPolicy
  private readonly deadLink: DeadLinkWatch
  private readonly online: OnlineTarget | null
  private readonly choice: TransportChoice
  /** the transport of the current socket, and of the last one that opened */
  private socketTransport: TransportName = 'websocket'
  private _transport: TransportName | undefined

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
  /** The owner's intent (connect()/disconnect()), also cleared by a permanent close. */
  private shouldConnect: boolean
  private retryTimer: Timer | undefined
  private deniedReason: string | undefined
  private _status: ProviderStatus = 'disconnected'
  /** Bumped on every status change, so a half-reported sequence can tell a callback moved on. */
  private statusSeq = 0
  private _synced = false
  private destroyed = false

  /** Checks the options (throwing for the first unusable one). Does not connect: call connect(). */
  constructor(options: LinkOptions, events: LinkEvents) {
    const config = linkConfig(options)
    this.events = events
    this.room = config.room
    this.dialer = new Dialer(config)
    this.retry = new RetryPolicy(config.backoff)
    this.deadLink = new DeadLinkWatch(config.deadLinkTimeoutMs, this.onDeadLink)
    this.choice = new TransportChoice(config.transport, config.transportTiming)
    this.shouldConnect = config.connect
    this.online = onlineTarget()
    this.online?.addEventListener('online', this.onOnline)
  }

  /** Connection state; see the 'status' event. */
  get status(): ProviderStatus {
    return this._status
  }

  /** The transport of the last connection that opened (undefined before the first). */
  get transport(): TransportName | undefined {
    return this._transport
  }

  /** True once markSynced() was called on the current connection. */
  get synced(): boolean {
    return this._synced
  }

  /** True after the server said "permission denied" on the current connection (e.g. read-only). */
  get denied(): boolean {
    return this.deniedReason !== undefined
  }

  isOpen(): boolean {
    return this.socket !== null && this.socket.readyState === OPEN
  }

  /** Connect (again), including after disconnect() or a permanent close. No-op after destroy(). */
  connect(): void {
    if (this.destroyed) return
    this.shouldConnect = true
    if (this.socket !== null || this.resolving) return
    this.clearRetryTimer()
    this.startAttempt()
  }

  /** Close the connection and stop reconnecting until connect(). */
  disconnect(): void {
    this.shouldConnect = false
    this.clearRetryTimer()
    if (this.socket !== null || this.resolving) {
      if (this.isOpen()) this.events.closing()
      this.connectionLost({ close: null, reason: 'disconnect() called' })
    }
  }

  /** Disconnect and remove every timer and listener the Link set up, even when a callback throws. Idempotent. */
  destroy(): void {
    if (this.destroyed) return
    // Set first, so a 'status' callback calling connect() during disconnect() cannot revive us.
    this.destroyed = true
    try {
      this.disconnect()
    } finally {
      this.clearRetryTimer()
      this.deadLink.stop()
      this.choice.destroy()
      this.online?.removeEventListener('online', this.onOnline)
    }
  }

  /**
   * Sends a frame; true when it went out. Frames are dropped while not open: the sync exchange
   * on the next open carries whatever was missed.
   */
  send(frame: Uint8Array): boolean {
    const ws = this.socket
    if (ws === null || ws.readyState !== OPEN) return false
    ws.send(frame)
    return true
  }

  /** The owner applied the server's state on this connection: reported, and the backoff starts over. */
  markSynced(): void {
    if (this._synced) return
    this._synced = true
    this.retry.synced()
    this.events.synced(true)
  }

  /**
   * Drops the connection after input the Link's own checks cannot see was refused (an update
   * Yjs could not apply, broken awareness framing, an impossible acknowledgement). Retried with
   * backoff that a sync on that same connection does not reset, so a server repeating it
   * cannot make us loop.
   */
  protocolViolation(error: unknown): void {
    this.connectionLost({ close: null, reason: 'protocol violation by server', error, badInput: true })
  }

  /**
   * Stops for good (until connect()) whether or not a connection is open: the owner cannot go
   * on (its Y.Doc is unusable), and carrying on would only show 'connected' over a document
   * that no longer sends or shows changes.
   */
  stopForGood(error: unknown, reason: string): void {
    if (this.socket !== null || this.resolving) {
      this.connectionLost({ close: null, reason, error, badInput: true, permanent: true })
      return
    }
    const wasStopped = !this.shouldConnect && this.retryTimer === undefined
    this.shouldConnect = false
    this.clearRetryTimer()
    this.events.error(error)
    if (!wasStopped) this.setStatus({ status: 'disconnected', reason, permanent: true })
  }

  /** `handler`, with a throw reported to listenerFailed instead of escaping into the event loop. */
  private guarded<A extends unknown[]>(handler: (...args: A) => void): (...args: A) => void {
    return (...args) => {
      try {
        handler(...args)
      } catch (error) {
        this.events.listenerFailed(error)
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Attempts and sockets.

  private startAttempt(): void {
    const id = ++this.attemptId
    this.retry.attemptStarted()
    this.resolving = true
    this.deniedReason = undefined
    // The dead-link timer also bounds a token function or a handshake that never settles.
    this.deadLink.start()
    this.setStatus({ status: 'connecting' })
    if (id !== this.attemptId) return // a 'status' callback called disconnect() or destroy()

    let target: Target
    try {
      target = this.dialer.next()
    } catch (error) {
      this.connectionLost({ close: null, reason: 'url or token function threw', error })
      return
    }
    const { base, token } = target
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

  private openSocket(base: string, token: string | undefined): void {
    let ws: WebSocketLike
    let offered: boolean
    const transport = this.choice.next
    try {
      ;({ ws, offered } = this.dialer.dial(base, token, transport))
    } catch (error) {
      this.connectionLost({ close: null, reason: 'WebSocket constructor threw', error })
      return
    }
    this.resolving = false
    this.socket = ws
    this.socketBase = base
    this.socketToken = token
    this.socketOffered = offered
    this.socketTransport = transport
    this.handshakeDone = false
    this.choice.dialing(transport, this.onHandshakeTimeout)
    ws.binaryType = 'arraybuffer'
    ws.onopen = this.onSocketOpen
    ws.onmessage = this.onSocketMessage
    ws.onclose = this.onSocketClose
    ws.onerror = this.onSocketError
  }

  // The socket's handlers. None lets a throw escape (see guarded): input the Link cannot use is
  // refused where it is read, and the owner refuses its own, so whatever still throws is an
  // application listener.

  private readonly onSocketOpen = this.guarded((): void => {
    const ws = this.socket
    if (ws === null) return
    this.handshakeDone = true
    this.deadLink.touch()
    const transport = this.socketTransport
    this.choice.opened(transport, () => this.dialer.probe(this.socketBase, this.socketToken), this.onUpgrade)
    if (transport !== this._transport) {
      this._transport = transport
      this.events.transport(transport)
      if (this.socket !== ws) return // a listener disconnected us
    }
    // A server that selected no subprotocol ('') will never acknowledge; one that selected ours
    // may merely echo it, which the owner learns from the hello (or its absence).
    const mayAck = this.socketOffered && (ws.protocol === undefined || ws.protocol === SAVED_ACK_PROTOCOL)
    try {
      this.events.opened(mayAck)
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
      this.events.status({ status: this._status, reason: frame.reason })
      return
    }
    this.events.frame(frame)
  })

  private readonly onSocketClose = this.guarded((event: { readonly code: number; readonly reason: string }): void => {
    this.connectionLost({ close: { code: event.code, reason: event.reason } })
  })

  private readonly onSocketError = this.guarded((event: unknown): void => {
    const ws = this.socket
    if (ws !== null && this.socketOffered && !this.handshakeDone && isSubprotocolRejection(event)) {
      // A server without the extension (`ws` clients only; browsers accept it). Not a failure:
      // redo the same attempt without the offer, and never offer to this URL again.
      this.dialer.rejectOffer(this.socketBase)
      detach(ws)
      this.socket = null
      this.resolving = true // so a throwing constructor in openSocket is handled as a loss
      this.openSocket(this.socketBase, this.socketToken)
      return
    }
    // The close event follows; it decides about retrying.
    this.events.error(event)
  })

  /**
   * Ends the current socket or attempt and decides whether and when to retry. All state changes
   * happen first and reports come last, so a callback calling connect(), disconnect() or
   * destroy() sees a consistent Link.
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
      const network = !this.handshakeDone && (loss.timedOut === true || loss.close?.code === CloseCode.AbnormalClosure)
      this.choice.ended(this.socketTransport, network)
      detach(ws)
      if (loss.close === null) closeQuietly(ws, loss.reason ?? '')
    }

    const permanent = loss.permanent === true || (loss.close !== null && isPermanentClose(loss.close.code))
    if (permanent) this.shouldConnect = false
    if (loss.badInput === true) this.retry.badInput()
    const retryInMs = this.shouldConnect && !this.destroyed ? this.retry.nextDelay(loss.close) : undefined
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

    // Report. Stop as soon as a callback has started a new attempt: what follows would be stale.
    this.events.ended(wasConnected)
    if (loss.error !== undefined) this.events.error(loss.error)
    if (seq === this.statusSeq && wasSynced) this.events.synced(false)
    if (seq === this.statusSeq && ws !== null) this.events.closed(loss.close)
    if (seq === this.statusSeq) this.events.status(event)
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

  private readonly onHandshakeTimeout = this.guarded((): void => {
    if (this.socket === null || this.handshakeDone) return
    this.connectionLost({ close: null, reason: 'WebSocket handshake timed out', timedOut: true })
  })

  /** A probe found WebSocket working while connected over HTTP: reconnect over it now (transport-choice.ts). */
  private readonly onUpgrade = this.guarded((): void => {
    if (this.socket === null || !this.handshakeDone) return
    this.connectionLost({ close: null, reason: 'moving to WebSocket' })
    if (!this.shouldConnect || this.destroyed || this.socket !== null || this.resolving) return
    this.clearRetryTimer()
    this.startAttempt()
  })

  private readonly onDeadLink = this.guarded((): void => {
    if (this.socket === null && !this.resolving) return
    this.connectionLost({ close: null, reason: `nothing received for ${this.deadLink.timeoutMs} ms` })
  })

  private clearRetryTimer(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
  }

  private setStatus(event: StatusEvent): void {
    this._status = event.status
    this.statusSeq++
    this.events.status(event)
  }
}
