import type { RawData, WebSocket } from 'ws'
import { CloseCode, ProtocolError, SAVED_ACK_PROTOCOL, readFrame, writeAuthDenied } from '@tandem/sync'
import type { Room, RoomPeer } from '../room/room.js'
import { AckTracker } from '../update/acks.js'
import type { TxOrigin } from '../room/tx-origins.js'
import type { Metrics } from '../metrics.js'
import type { Logger } from '../log.js'
import { ConnectionRateLimiter, type RateLimit } from '../limits/token-bucket.js'
import { sendShared, type Deflate, type SharedFrame } from './ws-frame.js'
import { negotiatedDeflate, sharedFrameOf } from './compression.js'

export interface ConnectionDeps {
  metrics: Metrics
  log: Logger
  maxBufferedBytes: number
  /** inbound frames/s and bytes/s; exceeding either closes this connection with 1008 */
  rateLimit?: RateLimit
  /** WS_COMPRESSION_THRESHOLD: shorter messages go uncompressed to sockets that negotiated permessage-deflate */
  compressionThreshold: number
  onClose(conn: Connection): void
}

let nextId = 1
/** Ids shared by every kind of peer (a socket's Connection, a channel of a multiplexed socket): a peer's transaction origin and presence owner. */
export const newPeerId = (): number => nextId++

/** The Connection behind a ws socket: set once, read by the shared listeners below. */
const CONN = Symbol('tandem.connection')
type Owned = WebSocket & { [CONN]: Connection }

// Listeners shared by every socket (`this` is the socket): no closures per connection, and none
// is ever removed. Thousands of idle connections are mostly this bookkeeping: ws keeps listeners
// in a dictionary that grows a size class at the fourth event name, which is why liveness reads
// the socket's byte count instead of listening for 'pong'.
function onSocketMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  ;(this as Owned)[CONN].onMessage(data, isBinary)
}
function onSocketError(this: WebSocket, err: Error & { code?: string }): void {
  ;(this as Owned)[CONN].onError(err)
}
function onSocketClose(this: WebSocket): void {
  ;(this as Owned)[CONN].onClose()
}

/**
 * One socket in one room. Inbound frames are handled synchronously in arrival order, so the
 * updates of one connection are committed and relayed in the order it sent them.
 * This class is the ONE error boundary per connection: anything thrown while handling a frame
 * closes this socket only (with the error's close code) and never reaches the process.
 */
export class Connection implements RoomPeer {
  readonly id = newPeerId()
  readonly kind = 'connection'
  /** the admission slot (per-IP / per-room counts) this connection holds until it closes */
  admission: { release(): void } | undefined
  /** the socket's bytesRead when the last ping went out; -1 before the first ping */
  private readAtPing = -1
  /** anything sent since the last sweep (quiet connections get an app-level keepalive) */
  sentSinceSweep = false
  private closed = false
  /** sweeps seen since close() was called without the socket finishing its close */
  closingSweeps = -1
  private warnedReadOnly = false
  private bufferLimit: number
  /** "saved" acknowledgements, when negotiated (SAVED_ACK_PROTOCOL) by a writer: update/acks.ts */
  readonly acks: AckTracker | undefined
  private readonly limiter: ConnectionRateLimiter | undefined
  /** permessage-deflate as negotiated (net/compression.ts); undefined: plain frames */
  private readonly deflate: Deflate | undefined

  constructor(
    private readonly ws: WebSocket,
    /** the upgraded TCP (or TLS) socket under `ws`: read only for its byte count */
    private readonly socket: { readonly bytesRead: number },
    readonly room: Room,
    readonly access: 'write' | 'read',
    /** the token's `sub` (undefined on an open server): decides whose released presence ids it may reclaim */
    readonly principal: string | undefined,
    private readonly deps: ConnectionDeps,
  ) {
    this.bufferLimit = deps.maxBufferedBytes
    this.limiter = deps.rateLimit && new ConnectionRateLimiter(deps.rateLimit)
    this.deflate = negotiatedDeflate(ws, deps.compressionThreshold)
    this.acks = ws.protocol === SAVED_ACK_PROTOCOL && access === 'write' ? new AckTracker((frame) => this.send(frame)) : undefined
    ;(ws as Owned)[CONN] = this
    ws.on('message', onSocketMessage)
    ws.on('error', onSocketError)
    ws.on('close', onSocketClose) // ws emits it once
  }

  /** Who writes on this connection, for change records (update/commit.ts `UpdateSender.author`). */
  get author(): string | undefined {
    return this.principal
  }

  /** The transaction origin of this connection's updates: itself (`kind` + `id`), no extra object. */
  get txOrigin(): TxOrigin {
    return this
  }

  /** @internal (socket listener) */
  onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return
    if (!isBinary) {
      this.fail(new ProtocolError('text frames are not part of the protocol', CloseCode.UnsupportedData, 'text-frame'))
      return
    }
    // binaryType 'nodebuffer' (ws default): fragmented messages arrive concatenated.
    const bytes = data as Buffer
    // Before decoding: a flood costs the server a clock read per frame, nothing more.
    const limited = this.limiter?.check(bytes.length)
    if (limited) {
      this.fail(new ProtocolError(`inbound ${limited === 'rate-limit-bytes' ? 'bytes' : 'messages'} above the rate limit`, CloseCode.PolicyViolation, limited))
      return
    }
    try {
      const frame = readFrame(bytes)
      const type = bytes[0]! // known types are < 128, so the first byte IS the type
      this.deps.metrics.messagesIn.add(type)
      this.deps.metrics.bytesIn.add(type, bytes.length)
      this.room.handle(this, frame, bytes)
    } catch (err) {
      this.fail(err)
    }
  }

  /** ws reports protocol violations it detects itself (oversized frame → 1009, bad opcode, …). @internal (socket listener) */
  onError(err: Error & { code?: string }): void {
    const reason = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'too-big' : (err.code ?? 'socket-error').toLowerCase()
    this.deps.metrics.rejectedFrames.labels(reason).inc()
    this.deps.log.warn({ room: this.room.name, conn: this.id, reason, msg: err.message }, 'connection error')
  }

  /** @internal (socket listener; ws emits 'close' exactly once) */
  onClose(): void {
    this.closed = true
    this.room.leave(this)
    this.deps.onClose(this)
  }

  send(frame: Uint8Array, syncReply = false): void {
    if (this.closed) return
    if (syncReply) this.bufferLimit = Math.max(this.bufferLimit, this.deps.maxBufferedBytes + frame.length)
    // Compressed once per message, not per socket: the same bytes (a whole-document step 2) sent to many joiners share one deflate.
    if (this.deflate && frame.length >= this.deflate.threshold) sendShared(this.ws, sharedFrameOf(frame), this.deflate)
    else this.ws.send(frame)
    this.sent()
  }

  /**
   * A frame built once for every receiver of a broadcast (ws-frame.ts). Returns whether it was
   * handed to the socket (not when this connection is closing).
   */
  sendShared(frame: SharedFrame): boolean {
    if (this.closed) return false
    sendShared(this.ws, frame, this.deflate)
    this.sent()
    return true
  }

  private sent(): void {
    this.sentSinceSweep = true
    // Slow consumer: never buffer without bound. It reconnects and resyncs from the store.
    if (this.ws.bufferedAmount > this.bufferLimit) {
      this.deps.metrics.slowConsumerCloses.inc()
      this.deps.log.warn({ room: this.room.name, conn: this.id, buffered: this.ws.bufferedAmount }, 'slow consumer closed')
      this.close(CloseCode.TryAgainLater, 'slow consumer')
    }
  }

  /** Charges an update's struct count to the inbound byte budget; 1008 when it is spent. */
  chargeStructs(structs: number): void {
    if (this.limiter && !this.limiter.chargeStructs(structs)) {
      throw new ProtocolError('inbound structs above the rate limit', CloseCode.PolicyViolation, 'rate-limit-structs')
    }
  }

  rejectWrite(): void {
    if (this.warnedReadOnly) {
      this.fail(new ProtocolError('write on a read-only connection', CloseCode.PolicyViolation, 'read-only'))
      return
    }
    this.warnedReadOnly = true
    this.deps.metrics.rejectedFrames.labels('read-only-warned').inc()
    this.send(writeAuthDenied('read-only: document updates are not accepted on this connection'))
  }

  fail(err: unknown): void {
    if (err instanceof ProtocolError) {
      this.deps.metrics.rejectedFrames.labels(err.reason).inc()
      this.deps.log.warn({ room: this.room.name, conn: this.id, code: err.closeCode, reason: err.reason, msg: err.message }, 'closing connection: bad input')
      this.close(err.closeCode, err.reason)
    } else {
      this.deps.metrics.rejectedFrames.labels('internal').inc()
      this.deps.log.error({ err, room: this.room.name, conn: this.id }, 'closing connection: internal error')
      this.close(CloseCode.InternalError, 'internal error')
    }
  }

  close(code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    this.closingSweeps = 0
    // The close frame queues behind buffered data: a peer that reads slowly still gets the
    // code; one that never reads is terminated by the next sweep (see server.ts).
    this.ws.close(code, reason.slice(0, 120))
  }

  /** No pong since the last sweep: the peer is gone without a FIN; drop it now. */
  terminate(): void {
    this.closed = true
    this.ws.terminate()
  }

  /**
   * Liveness: the peer sent something since the last ping (its pong, or any frame). A pong is
   * proof enough and so is any other data; a link that delivered nothing is half-dead.
   */
  get alive(): boolean {
    return this.readAtPing < 0 || this.socket.bytesRead !== this.readAtPing
  }

  ping(): void {
    this.readAtPing = this.socket.bytesRead
    this.ws.ping()
  }

  /** the sweep's app-level keepalive for a quiet connection */
  keepalive(frame: Uint8Array): void {
    this.send(frame)
  }
}
