import type { RawData, WebSocket } from 'ws'
import {
  CloseCode,
  MUX_KEEPALIVE,
  ProtocolError,
  muxPrefix,
  readFrame,
  readMuxControl,
  readMuxHeader,
  validateRoomName,
  writeAuthDenied,
  writeMuxClosed,
  writeMuxOpened,
} from '@tandem/sync'
import type { Room, RoomPeer } from '../room/room.js'
import { AckTracker } from '../update/acks.js'
import type { TxOrigin } from '../room/tx-origins.js'
import type { Metrics } from '../metrics.js'
import type { Logger } from '../log.js'
import { ConnectionRateLimiter, type RateLimit } from '../limits/token-bucket.js'
import { sendPrefixed, sharedFrame, type Deflate, type SharedFrame } from './ws-frame.js'
import { negotiatedDeflate, sharedFrameOf } from './compression.js'
import { newPeerId } from './connection.js'
import type { UpgradeDecision } from './upgrade.js'

type Admitted = Extract<UpgradeDecision, { ok: true }>

/** What opening a room on a channel decided (server.ts: token, Origin, admission, the room load). */
export type MuxOpening =
  | { ok: false; status: number; reason: string }
  | { ok: true; room: Room; decision: Admitted; release(): void }

export interface MuxDeps {
  metrics: Metrics
  log: Logger
  maxBufferedBytes: number
  rateLimit?: RateLimit
  compressionThreshold: number
  /** rooms one socket may hold open (or be opening) at once; an Open past it is refused 429 `too-many-channels` */
  maxChannels: number
  /** authorizes `token` for `room` (with the socket's Origin), admits and loads the room */
  open(conn: MuxConnection, room: string, token: string): Promise<MuxOpening>
  /** a channel is open, about to join its room (token expiry, revocations) */
  opened(channel: MuxChannel, decision: Admitted): void
  /** a channel closed: undo `opened` and give back what `open` acquired */
  channelClosed(channel: MuxChannel): void
  onClose(conn: MuxConnection): void
}

const CONN = Symbol('tandem.mux')
type Owned = WebSocket & { [CONN]: MuxConnection }

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
 * One room on a multiplexed socket: a peer of its room like a one-room Connection, whose frames
 * carry its channel number and whose close ends this room only (a Closed control message).
 */
export class MuxChannel implements RoomPeer {
  readonly id = newPeerId()
  readonly kind = 'connection'
  /** "saved" acknowledgements: on for every write channel (the extension includes them) */
  readonly acks: AckTracker | undefined
  closed = false
  private warnedReadOnly = false
  private readonly prefix: Uint8Array

  constructor(
    readonly conn: MuxConnection,
    readonly channel: number,
    readonly room: Room,
    readonly access: 'write' | 'read',
    readonly principal: string | undefined,
    /** gives back the admission slot and the room (server.ts) */
    readonly release: () => void,
  ) {
    this.prefix = muxPrefix(channel)
    this.acks = access === 'write' ? new AckTracker((frame) => this.send(frame)) : undefined
  }

  get txOrigin(): TxOrigin {
    return this
  }

  /** Who writes on this channel, for change records (update/commit.ts `UpdateSender.author`). */
  get author(): string | undefined {
    return this.principal
  }

  send(frame: Uint8Array, syncReply = false): void {
    if (this.closed) return
    this.conn.sendOn(this.prefix, frame, syncReply)
  }

  sendShared(frame: SharedFrame): boolean {
    if (this.closed) return false
    return this.conn.sendSharedOn(this.prefix, frame)
  }

  chargeStructs(structs: number): void {
    this.conn.chargeStructs(structs)
  }

  rejectWrite(): void {
    if (this.warnedReadOnly) {
      this.fail(new ProtocolError('write on a read-only channel', CloseCode.PolicyViolation, 'read-only'))
      return
    }
    this.warnedReadOnly = true
    this.conn.deps.metrics.rejectedFrames.labels('read-only-warned').inc()
    this.send(writeAuthDenied('read-only: document updates are not accepted on this connection'))
  }

  /** Bad input in this room (or an internal error handling it) ends this room only. */
  fail(err: unknown): void {
    if (err instanceof ProtocolError) {
      this.conn.deps.metrics.rejectedFrames.labels(err.reason).inc()
      this.conn.deps.log.warn({ room: this.room.name, conn: this.id, code: err.closeCode, reason: err.reason, msg: err.message }, 'closing channel: bad input')
      this.close(err.closeCode, err.reason)
    } else {
      this.conn.deps.metrics.rejectedFrames.labels('internal').inc()
      this.conn.deps.log.error({ err, room: this.room.name, conn: this.id }, 'closing channel: internal error')
      this.close(CloseCode.InternalError, 'internal error')
    }
  }

  /** Ends this room on the socket (Closed with `code`); the socket and its other rooms go on. */
  close(code: number, reason: string): void {
    if (this.closed) return
    this.conn.closeChannel(this, code, reason)
  }
}

/**
 * A socket that negotiated MUX_PROTOCOL (`@tandem/sync` mux.ts): several rooms, one channel
 * each. Like Connection it is the error boundary of its socket, with one difference: bytes that
 * break the mux envelope close the socket, bytes that are wrong for a room close that room's
 * channel only.
 */
export class MuxConnection {
  readonly id = newPeerId()
  private readonly channels = new Map<number, MuxChannel | 'opening' | 'cancelled'>()
  private readAtPing = -1
  sentSinceSweep = false
  private closed = false
  closingSweeps = -1
  /** sweeps seen with no room open: a socket that holds nothing is closed after two */
  private emptySweeps = 0
  private bufferLimit: number
  private readonly limiter: ConnectionRateLimiter | undefined
  private readonly deflate: Deflate | undefined

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: { readonly bytesRead: number },
    readonly deps: MuxDeps,
    /** the handshake's Origin header and client address: every Open is checked against them */
    readonly client: { readonly origin: string | undefined; readonly address: string },
  ) {
    this.bufferLimit = deps.maxBufferedBytes
    this.limiter = deps.rateLimit && new ConnectionRateLimiter(deps.rateLimit)
    this.deflate = negotiatedDeflate(ws, deps.compressionThreshold)
    ;(ws as Owned)[CONN] = this
    ws.on('message', onSocketMessage)
    ws.on('error', onSocketError)
    ws.on('close', onSocketClose)
  }

  /** rooms open on this socket */
  get openChannels(): number {
    let n = 0
    for (const c of this.channels.values()) if (typeof c !== 'string') n++
    return n
  }

  /** @internal (socket listener) */
  onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return
    if (!isBinary) return this.fail(new ProtocolError('text frames are not part of the protocol', CloseCode.UnsupportedData, 'text-frame'))
    const bytes = data as Buffer
    const limited = this.limiter?.check(bytes.length)
    if (limited) {
      return this.fail(new ProtocolError(`inbound ${limited === 'rate-limit-bytes' ? 'bytes' : 'messages'} above the rate limit`, CloseCode.PolicyViolation, limited))
    }
    let channel: MuxChannel | undefined
    try {
      const { channel: n, offset } = readMuxHeader(bytes)
      if (n === 0) return this.control(readMuxControl(bytes, offset))
      const c = this.channels.get(n)
      if (c === undefined || typeof c === 'string') {
        // Before its Opened or after its Closed (the two may cross on the wire): not this room's any more.
        this.deps.metrics.rejectedFrames.labels('mux-no-channel').inc()
        return
      }
      channel = c
      const frame = bytes.subarray(offset)
      const decoded = readFrame(frame)
      const type = frame[0]!
      this.deps.metrics.messagesIn.add(type)
      this.deps.metrics.bytesIn.add(type, frame.length)
      c.room.handle(c, decoded, frame)
    } catch (err) {
      if (channel) channel.fail(err)
      else this.fail(err)
    }
  }

  private control(msg: ReturnType<typeof readMuxControl>): void {
    switch (msg.op) {
      case 'open':
        return this.open(msg.channel, msg.room, msg.token)
      case 'closed': {
        const c = this.channels.get(msg.channel)
        if (c === 'opening') this.channels.set(msg.channel, 'cancelled')
        else if (c !== undefined && c !== 'cancelled') this.closeChannel(c, CloseCode.Normal, '')
        return
      }
      case 'keepalive':
        return
      default:
        throw new ProtocolError(`${msg.op} is not sent by clients`, CloseCode.InvalidPayload, 'mux-op')
    }
  }

  private open(n: number, room: string, token: string): void {
    if (this.channels.has(n)) throw new ProtocolError(`channel ${n} is in use`, CloseCode.InvalidPayload, 'mux-channel-in-use')
    try {
      validateRoomName(room)
    } catch (err) {
      this.sendControl(writeMuxClosed(n, 400, err instanceof ProtocolError ? err.reason : 'bad-room'))
      return
    }
    if (this.channels.size >= this.deps.maxChannels) {
      this.deps.metrics.rejectedUpgrades.labels('too-many-channels').inc()
      this.sendControl(writeMuxClosed(n, 429, 'too-many-channels'))
      return
    }
    this.channels.set(n, 'opening')
    this.deps.open(this, room, token).then(
      (opening) => this.settle(n, opening),
      (err: unknown) => {
        this.deps.log.error({ err, room }, 'mux: opening a room failed')
        this.settle(n, { ok: false, status: 503, reason: 'room-unavailable' })
      },
    )
  }

  private settle(n: number, opening: MuxOpening): void {
    const state = this.channels.get(n)
    if (this.closed || state !== 'opening') {
      // The socket closed, or the client gave up on the room, while it was being opened.
      if (opening.ok) opening.release()
      if (state === 'cancelled') {
        this.channels.delete(n)
        if (!this.closed) this.sendControl(writeMuxClosed(n, CloseCode.Normal, ''))
      }
      return
    }
    if (!opening.ok) {
      this.channels.delete(n)
      this.deps.metrics.rejectedUpgrades.labels(opening.reason).inc()
      this.sendControl(writeMuxClosed(n, opening.status, opening.reason))
      return
    }
    const { decision } = opening
    const channel = new MuxChannel(this, n, opening.room, decision.access, decision.subject, () => opening.release())
    this.channels.set(n, channel)
    this.sendControl(writeMuxOpened(n, channel.access))
    this.deps.opened(channel, decision)
    channel.acks?.hello()
    opening.room.join(channel)
  }

  /** @internal (MuxChannel.close) */
  closeChannel(c: MuxChannel, code: number, reason: string): void {
    this.forget(c)
    this.sendControl(writeMuxClosed(c.channel, code, reason))
  }

  private forget(c: MuxChannel): void {
    if (c.closed) return
    c.closed = true
    this.channels.delete(c.channel)
    c.room.leave(c)
    this.deps.channelClosed(c)
    c.release()
  }

  private sendControl(frame: Uint8Array): void {
    if (this.closed) return
    this.ws.send(frame)
    this.sent()
  }

  /** @internal (MuxChannel.send) */
  sendOn(prefix: Uint8Array, frame: Uint8Array, syncReply: boolean): void {
    if (this.closed) return
    if (syncReply) this.bufferLimit = Math.max(this.bufferLimit, this.deps.maxBufferedBytes + frame.length)
    // Large messages compressed once per message, as on a one-room socket (connection.ts).
    const shared = this.deflate && frame.length >= this.deflate.threshold ? sharedFrameOf(frame) : sharedFrame(frame)
    sendPrefixed(this.ws, prefix, shared, this.deflate)
    this.sent()
  }

  /** @internal (MuxChannel.sendShared) */
  sendSharedOn(prefix: Uint8Array, frame: SharedFrame): boolean {
    if (this.closed) return false
    sendPrefixed(this.ws, prefix, frame, this.deflate)
    this.sent()
    return true
  }

  /** @internal */
  chargeStructs(structs: number): void {
    if (this.limiter && !this.limiter.chargeStructs(structs)) {
      // The byte budget is the socket's: every room on it shares it.
      throw new ProtocolError('inbound structs above the rate limit', CloseCode.PolicyViolation, 'rate-limit-structs')
    }
  }

  private sent(): void {
    this.sentSinceSweep = true
    if (this.ws.bufferedAmount > this.bufferLimit) {
      this.deps.metrics.slowConsumerCloses.inc()
      this.deps.log.warn({ conn: this.id, buffered: this.ws.bufferedAmount }, 'slow consumer closed (multiplexed)')
      this.close(CloseCode.TryAgainLater, 'slow consumer')
    }
  }

  /** ws' own protocol errors (1009 and the like): ws closes the socket itself. @internal */
  onError(err: Error & { code?: string }): void {
    const reason = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'too-big' : (err.code ?? 'socket-error').toLowerCase()
    this.deps.metrics.rejectedFrames.labels(reason).inc()
    this.deps.log.warn({ conn: this.id, reason, msg: err.message }, 'connection error (multiplexed)')
  }

  /** @internal (socket listener; once) */
  onClose(): void {
    this.closed = true
    for (const c of [...this.channels.values()]) if (typeof c !== 'string') this.forget(c)
    this.channels.clear()
    this.deps.onClose(this)
  }

  fail(err: unknown): void {
    if (err instanceof ProtocolError) {
      this.deps.metrics.rejectedFrames.labels(err.reason).inc()
      this.deps.log.warn({ conn: this.id, code: err.closeCode, reason: err.reason, msg: err.message }, 'closing multiplexed connection: bad input')
      this.close(err.closeCode, err.reason)
    } else {
      this.deps.metrics.rejectedFrames.labels('internal').inc()
      this.deps.log.error({ err, conn: this.id }, 'closing multiplexed connection: internal error')
      this.close(CloseCode.InternalError, 'internal error')
    }
  }

  /** Closes the socket and so every room on it. */
  close(code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    this.closingSweeps = 0
    for (const c of [...this.channels.values()]) if (typeof c !== 'string') this.forget(c)
    this.ws.close(code, reason.slice(0, 120))
  }

  terminate(): void {
    this.closed = true
    this.ws.terminate()
  }

  get alive(): boolean {
    return this.readAtPing < 0 || this.socket.bytesRead !== this.readAtPing
  }

  ping(): void {
    this.readAtPing = this.socket.bytesRead
    this.ws.ping()
    // Nothing open for two pings in a row: a socket that holds no room is not kept.
    if (this.channels.size === 0) {
      if (++this.emptySweeps >= 2) this.close(CloseCode.PolicyViolation, 'no rooms open')
    } else {
      this.emptySweeps = 0
    }
  }

  keepalive(): void {
    this.sendControl(MUX_KEEPALIVE)
  }
}
