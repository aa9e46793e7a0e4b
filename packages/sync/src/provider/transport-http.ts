/**
 * The HTTP transport's socket: an Engine.IO long-polling session (engine.io-client) with the
 * WebSocket surface the Link uses (WebSocketLike), so the Link, the saved tracker and the sync
 * run unchanged over it. Same messages as on a WebSocket (docs/protocol.md "HTTP transport"):
 * one binary Engine.IO message per frame; the server's text message `close <code> <reason>` is
 * the close code a WebSocket close frame would carry, reported in 'close' as a WebSocket does.
 */
import { Socket as EngineSocket } from 'engine.io-client'
import { CloseCode } from '../protocol/errors.js'
import { HTTP_PROTOCOL_PARAM, HTTP_TRANSPORT_PATH, readHttpClose } from '../protocol/http-transport.js'
import { SAVED_ACK_PROTOCOL } from '../protocol/message-type.js'
import { normalizeBase } from './socket.js'
import type { WebSocketLike } from './types.js'

type Handler<E> = ((event: E) => void) | null

const STATES: Record<string, number> = { opening: 0, open: 1, closing: 2, closed: 3 }

export interface HttpTarget {
  /** the provider's base URL (ws:// or wss://, or http(s)://), with any path prefix */
  base: string
  room: string
  params: Readonly<Record<string, string>>
  token: string | undefined
  /** ask for saved acknowledgements (WebSocket: the subprotocol offer) */
  acks: boolean
}

/** The Engine.IO endpoint for a base URL: same host, http(s), the base's path + HTTP_TRANSPORT_PATH. */
function httpEndpoint(base: string): { uri: string; path: string } {
  const url = new URL(normalizeBase(base))
  const protocol = url.protocol === 'wss:' || url.protocol === 'https:' ? 'https:' : 'http:'
  return { uri: `${protocol}//${url.host}`, path: `${url.pathname.replace(/\/+$/, '')}${HTTP_TRANSPORT_PATH}` }
}

export class HttpSocket implements WebSocketLike {
  binaryType = 'arraybuffer'
  onopen: Handler<unknown> = null
  onmessage: Handler<{ readonly data: unknown }> = null
  onclose: Handler<{ readonly code: number; readonly reason: string }> = null
  onerror: Handler<unknown> = null
  /** Undefined: the server's hello (or its absence) tells whether it acknowledges. */
  readonly protocol = undefined

  private readonly eio: EngineSocket
  /** the server's `close <code> <reason>`, reported when the session ends */
  private serverClose: { code: number; reason: string } | undefined
  private ownClose: { code: number; reason: string } | undefined

  constructor(target: HttpTarget) {
    const { uri, path } = httpEndpoint(target.base)
    const query: Record<string, string> = { ...target.params, room: target.room }
    if (target.token !== undefined && target.token !== '') query.token = target.token
    if (target.acks) query[HTTP_PROTOCOL_PARAM] = SAVED_ACK_PROTOCOL
    this.eio = new EngineSocket(uri, {
      path,
      query,
      transports: ['polling'],
      // The Link moves to a WebSocket itself (transport-choice.ts), to the plain endpoint.
      upgrade: false,
      // Whatever the page does on unload is the provider's owner's business.
      closeOnBeforeunload: false,
    })
    this.eio.binaryType = 'arraybuffer'
    this.eio.on('open', () => this.onopen?.({}))
    this.eio.on('message', (data) => {
      if (typeof data === 'string') {
        this.serverClose = readHttpClose(data) ?? this.serverClose
        if (this.serverClose === undefined) this.onmessage?.({ data }) // refused by the Link as a text frame
        return
      }
      this.onmessage?.({ data })
    })
    this.eio.on('error', (error) => this.onerror?.({ error }))
    this.eio.on('close', (reason, description) => {
      const close = this.ownClose ?? this.serverClose ?? { code: CloseCode.AbnormalClosure, reason: lostReason(reason, description) }
      this.onclose?.(close)
    })
  }

  get readyState(): number {
    return STATES[this.eio.readyState] ?? 3
  }

  send(data: Uint8Array): void {
    this.eio.send(data)
  }

  close(code: number = CloseCode.Normal, reason = ''): void {
    this.ownClose ??= { code, reason }
    this.eio.close()
  }
}

/** Why a session ended that the server did not close: Engine.IO's reason, with the HTTP status when there was one (401, 403, 429, 503). */
function lostReason(reason: string, description: unknown): string {
  const status = typeof description === 'object' && description !== null && 'description' in description ? description.description : undefined
  return typeof status === 'number' && status > 0 ? `${reason} (HTTP ${status})` : reason
}
