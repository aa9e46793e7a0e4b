/**
 * Many rooms over one WebSocket, for SyncProvider (docs/protocol.md "Many rooms over one
 * connection"). `sharedWebSocket(WebSocket)` is a WebSocket class whose sockets are channels of
 * ONE real socket per server: every provider of a page given it (`options.WebSocket`) talks to
 * that server over the same connection, as HocuspocusProviderWebsocket does. The provider and
 * its Link are unchanged: a channel behaves as a socket to one room would (open when the room is
 * open, the room's frames, a close with the code a one-room socket would have closed with), so
 * tokens per attempt, backoff, saved acknowledgements and dead-link detection all work per room.
 *
 * The real socket is opened by the first channel, and closed when its last channel closes. If
 * it dies, every channel on it closes with its close code; each provider retries on its own
 * schedule, and the first one opens a new real socket that the others join.
 */
import { CloseCode, ProtocolError } from '../protocol/errors.js'
import { SAVED_ACK_PROTOCOL } from '../protocol/message-type.js'
import { MUX_PROTOCOL, muxPrefix, readMuxControl, readMuxHeader, writeMuxClosed, writeMuxOpen } from '../protocol/mux.js'
import { roomFromPath } from '../protocol/room-name.js'
import { OPEN, closeQuietly, detach, toBytes, type Timer } from './socket.js'
import type { WebSocketConstructor, WebSocketLike } from './types.js'

const CONNECTING = 0
const CLOSED = 3
/** Saved (4): dropped on a channel whose provider did not ask for acknowledgements. */
const SAVED_TYPE = 4
/** An empty awareness update: what a quiet one-room socket receives from the server as a keepalive. */
const KEEPALIVE = new Uint8Array([1, 1, 0])
/**
 * A busy real socket gets no keepalive from the server, but a channel on it may be quiet: every
 * this often each open channel that received nothing is handed the one-room keepalive, if the
 * real socket received anything since the last tick (providers' dead-link default is 30 s).
 */
const CHANNEL_KEEPALIVE_MS = 5_000

type Handler<E> = ((event: E) => void) | null

/** One real socket to one server, shared by its channels. */
class Hub {
  private readonly socket: WebSocketLike
  private readonly channels = new Map<number, ChannelSocket>()
  private nextChannel = 1
  private heard = false
  private readonly ticker: Timer

  constructor(
    Impl: WebSocketConstructor,
    url: string,
    private readonly forget: () => void,
  ) {
    this.socket = new Impl(url, [MUX_PROTOCOL])
    this.socket.binaryType = 'arraybuffer'
    this.socket.onopen = () => {
      for (const c of this.channels.values()) c.requestOpen()
    }
    this.socket.onmessage = (e) => this.receive(e.data)
    this.socket.onclose = (e) => this.lost(e.code, e.reason)
    this.socket.onerror = () => {}
    this.ticker = setInterval(() => this.tick(), CHANNEL_KEEPALIVE_MS)
  }

  get open(): boolean {
    return this.socket.readyState === OPEN
  }

  attach(c: ChannelSocket): number {
    let n = this.nextChannel
    while (this.channels.has(n)) n = n >= 0xffff ? 1 : n + 1
    this.nextChannel = n >= 0xffff ? 1 : n + 1
    this.channels.set(n, c)
    return n
  }

  /** A channel is done: the server is told, and the real socket goes with the last channel. */
  detach(n: number, tellServer: boolean): void {
    if (!this.channels.delete(n)) return
    if (tellServer && this.open) this.socket.send(writeMuxClosed(n, CloseCode.Normal, ''))
    if (this.channels.size === 0) this.shut('no rooms left')
  }

  sendRaw(bytes: Uint8Array): void {
    if (this.open) this.socket.send(bytes)
  }

  send(prefix: Uint8Array, frame: Uint8Array): void {
    if (!this.open) return
    const out = new Uint8Array(prefix.length + frame.length)
    out.set(prefix)
    out.set(frame, prefix.length)
    this.socket.send(out)
  }

  private receive(data: unknown): void {
    this.heard = true
    try {
      const bytes = toBytes(data)
      const { channel, offset } = readMuxHeader(bytes)
      if (channel !== 0) {
        this.channels.get(channel)?.deliver(bytes.subarray(offset))
        return
      }
      const msg = readMuxControl(bytes, offset)
      if (msg.op === 'opened') this.channels.get(msg.channel)?.opened()
      else if (msg.op === 'closed') this.channels.get(msg.channel)?.closedByServer(msg.code, msg.reason)
      else if (msg.op === 'open') throw new ProtocolError('a server does not open channels', CloseCode.InvalidPayload, 'mux-op')
    } catch {
      // The envelope is broken: nothing on this socket can be trusted. Every channel closes, as
      // a one-room socket does on a bad frame, and its provider reconnects.
      this.lost(CloseCode.Normal, 'bad frame from server')
    }
  }

  private tick(): void {
    if (!this.heard) return
    this.heard = false
    for (const c of this.channels.values()) c.keepalive()
  }

  private lost(code: number, reason: string): void {
    this.shut(reason)
    const channels = [...this.channels.values()]
    this.channels.clear()
    for (const c of channels) c.socketLost(code, reason)
  }

  private shut(reason: string): void {
    clearInterval(this.ticker)
    this.forget()
    detach(this.socket)
    if (this.socket.readyState !== CLOSED) closeQuietly(this.socket, reason)
  }
}

/** A "socket" to one room: a channel of its server's Hub. */
class ChannelSocket implements WebSocketLike {
  binaryType = 'arraybuffer'
  readyState = CONNECTING
  protocol = ''
  onopen: Handler<unknown> = null
  onmessage: Handler<{ readonly data: unknown }> = null
  onclose: Handler<{ readonly code: number; readonly reason: string }> = null
  onerror: Handler<unknown> = null

  private readonly channel: number
  private readonly prefix: Uint8Array
  private readonly wantsSaved: boolean
  private quiet = true

  constructor(
    private readonly hub: Hub,
    private readonly room: string,
    private readonly token: string,
    protocols: string | string[] | undefined,
  ) {
    this.wantsSaved = (Array.isArray(protocols) ? protocols : [protocols]).includes(SAVED_ACK_PROTOCOL)
    this.channel = hub.attach(this)
    this.prefix = muxPrefix(this.channel)
    if (hub.open) this.requestOpen()
  }

  /** @internal (Hub) */
  requestOpen(): void {
    if (this.readyState === CONNECTING) this.hub.sendRaw(writeMuxOpen(this.channel, this.room, this.token))
  }

  /** @internal (Hub) */
  opened(): void {
    if (this.readyState !== CONNECTING) return
    this.readyState = OPEN
    // What a one-room socket's handshake would have selected; a hello on the channel proves it.
    this.protocol = this.wantsSaved ? SAVED_ACK_PROTOCOL : ''
    this.onopen?.({})
  }

  /** @internal (Hub) */
  deliver(frame: Uint8Array): void {
    if (this.readyState !== OPEN) return
    if (!this.wantsSaved && frame[0] === SAVED_TYPE) return
    this.quiet = false
    this.onmessage?.({ data: frame })
  }

  /** @internal (Hub) */
  keepalive(): void {
    if (this.readyState === OPEN && this.quiet) this.onmessage?.({ data: KEEPALIVE })
    this.quiet = true
  }

  /**
   * @internal (Hub) The server closed the room. A refusal (an HTTP status, below 1000) looks
   * like a refused upgrade does to a browser: an error, then 1006.
   */
  closedByServer(code: number, reason: string): void {
    this.hub.detach(this.channel, false)
    if (code < CloseCode.Normal) this.finish(CloseCode.AbnormalClosure, `refused: ${code} ${reason}`, true)
    else this.finish(code, reason, false)
  }

  /** @internal (Hub) The real socket is gone: so is the room. */
  socketLost(code: number, reason: string): void {
    this.finish(code, reason, this.readyState === CONNECTING)
  }

  send(data: Uint8Array): void {
    if (this.readyState === OPEN) this.hub.send(this.prefix, data)
  }

  close(code: number = CloseCode.Normal, reason = ''): void {
    if (this.readyState === CLOSED) return
    this.hub.detach(this.channel, true)
    this.finish(code, reason, false)
  }

  private finish(code: number, reason: string, failed: boolean): void {
    if (this.readyState === CLOSED) return
    this.readyState = CLOSED
    // Asynchronous, as a real socket's events are: the caller of close() is not re-entered.
    queueMicrotask(() => {
      if (failed) this.onerror?.({})
      this.onclose?.({ code, reason })
    })
  }
}

/**
 * A WebSocket class whose sockets to `<base>/<room>` are channels of one shared socket per
 * server base URL (the query, minus `token`, is part of the key: it goes with the real socket).
 * Each call makes its own set of shared sockets; mountEditor and <collab-editor> share one.
 */
export function sharedWebSocket(Impl: WebSocketConstructor): WebSocketConstructor {
  const hubs = new Map<string, Hub>()
  return class SharedWebSocket extends ChannelSocket {
    constructor(url: string, protocols?: string | string[]) {
      const u = new URL(url)
      const token = u.searchParams.get('token') ?? ''
      u.searchParams.delete('token')
      const room = roomFromPath(u.pathname)
      u.pathname = '/'
      const key = u.toString()
      let hub = hubs.get(key)
      if (!hub) {
        const created: Hub = new Hub(Impl, key, () => {
          if (hubs.get(key) === created) hubs.delete(key)
        })
        hubs.set(key, (hub = created))
      }
      super(hub, room, token, protocols)
    }
  }
}
