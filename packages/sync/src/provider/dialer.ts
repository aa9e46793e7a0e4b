/**
 * Where and how the Link connects on each attempt: the next base URL (a list rotates, a
 * function is called), a fresh token, the connection URL, and whether to offer
 * SAVED_ACK_PROTOCOL (never again to a server that rejected the offer).
 */
import { SAVED_ACK_PROTOCOL } from '../protocol/message-type.js'
import type { LinkConfig } from './link-options.js'
import { connectionUrl, normalizeBase } from './socket.js'
import { HttpSocket } from './transport-http.js'
import type { TransportName, WebSocketLike } from './types.js'

/** One attempt's server and token; a token function may answer with a promise. */
export interface Target {
  base: string
  token: string | PromiseLike<string> | undefined
}

export class Dialer {
  private urlCursor = 0
  /** Base URLs whose server failed the handshake over our subprotocol offer: never offered again. */
  private readonly offerRejected = new Set<string>()

  constructor(private readonly config: LinkConfig) {}

  /** The next attempt's server and token. Throws what a url or token function throws. */
  next(): Target {
    const base = this.nextBaseUrl()
    const source = this.config.token
    return { base, token: typeof source === 'function' ? source() : source }
  }

  /** Opens a socket to the room on `base` over `transport`. Throws what the WebSocket constructor throws. */
  dial(base: string, token: string | undefined, transport: TransportName = 'websocket'): { ws: WebSocketLike; offered: boolean } {
    const offered = this.config.offerAcks && !this.offerRejected.has(normalizeBase(base))
    if (transport === 'http') {
      return { ws: new HttpSocket({ base, room: this.config.room, params: this.config.params, token, acks: offered }), offered }
    }
    const url = connectionUrl(base, this.config.room, this.config.params, token)
    const ws = offered ? new this.config.WebSocket(url, SAVED_ACK_PROTOCOL) : new this.config.WebSocket(url)
    return { ws, offered }
  }

  /** A bare WebSocket to the room (transport-choice.ts probes with it whether WebSocket works). */
  probe(base: string, token: string | undefined): WebSocketLike {
    return new this.config.WebSocket(connectionUrl(base, this.config.room, this.config.params, token))
  }

  /** The server at `base` failed the handshake over our offer (a server without the extension). */
  rejectOffer(base: string): void {
    this.offerRejected.add(normalizeBase(base))
  }

  private nextBaseUrl(): string {
    const urls = this.config.urls
    if (typeof urls === 'string') return urls
    if (typeof urls === 'function') return urls()
    // Rotating per attempt moves clients off a dead server without any health checking.
    const url = urls[this.urlCursor % urls.length] ?? urls[0] // (the index is in range: `??` is for the type)
    this.urlCursor = (this.urlCursor + 1) % urls.length
    return url
  }
}
