import type * as Y from 'yjs'
import type * as awarenessProtocol from 'y-protocols/awareness'
import type { SavedState } from './saved-tracker.js'

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
  /** The subprotocol the server selected ('' for none). Optional: a hello proves it anyway. */
  readonly protocol?: string
  onopen: Handler<unknown> | null
  onmessage: Handler<{ readonly data: unknown }> | null
  onclose: Handler<{ readonly code: number; readonly reason: string }> | null
  onerror: Handler<unknown> | null
  send(data: Uint8Array): void
  close(code?: number, reason?: string): void
}

/**
 * A WebSocket class: `globalThis.WebSocket` in browsers and Node ≥ 22, `ws`'s default export
 * elsewhere. `protocols` is passed only when the provider offers SAVED_ACK_PROTOCOL; a wrapper
 * must hand it on, or the server never sends acknowledgements.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike

/** The subset of BroadcastChannel the provider uses (tabs of one browser sharing updates). */
export interface BroadcastChannelLike {
  onmessage: Handler<{ readonly data: unknown }> | null
  postMessage(message: unknown): void
  close(): void
}

export type BroadcastChannelConstructor = new (name: string) => BroadcastChannelLike

// ---------------------------------------------------------------------------------------------
// Public types.

/** Where to connect: one base URL, a list tried in turn (next one on every attempt), or a function called per attempt. */
export type UrlSource = string | readonly string[] | (() => string)

/** A token, or a function called before EVERY connection attempt so a reconnect carries a fresh one. */
export type TokenSource = string | (() => string | PromiseLike<string>)

/** How a connection reaches the server: a WebSocket, or HTTP long-polling (Engine.IO; docs/protocol.md "HTTP transport"). */
export type TransportName = 'websocket' | 'http'

/** Connection state as a UI would show it. */
export type ProviderStatus = 'connecting' | 'connected' | 'disconnected'

export type { SavedState }

/** Payload of the 'status' event. */
export interface StatusEvent {
  status: ProviderStatus
  /** Close code of the socket that just closed (absent when the provider closed it itself). */
  closeCode?: number
  /** Why: the server's close reason, its permission-denied reason, or why the provider closed. */
  reason?: string
  /**
   * True when the server closed with 4400-4499, or an update left the Y.Doc unusable (reason
   * 'doc-broken', see 'connection-error'): the provider will not retry until connect().
   */
  permanent?: boolean
  /** Present on 'disconnected' when a retry is scheduled: its delay in ms. */
  retryInMs?: number
}

/** How a socket closed; `null` in 'connection-close' when the provider closed it itself. */
export interface CloseInfo {
  code: number
  reason: string
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
  /**
   * Offer the WebSocket subprotocol SAVED_ACK_PROTOCOL so a Tandem server acknowledges stored
   * changes (`unsavedChanges`, 'saved'). Harmless with any other y-websocket server: if one
   * rejects the offer, that URL is retried without it. Default true.
   */
  savedAcks?: boolean
  /**
   * Share document updates and awareness with other tabs of this browser showing the same
   * room on the same server, over BroadcastChannel, so they stay in step while the server is
   * unreachable. Default: true where `window` and BroadcastChannel exist (browsers); false
   * elsewhere, since a Node process often hosts many independent clients (tests, servers)
   * that Node's process-wide BroadcastChannel would silently join.
   */
  crossTab?: boolean
  /** BroadcastChannel implementation for `crossTab`. Defaults to `globalThis.BroadcastChannel`. */
  BroadcastChannel?: BroadcastChannelConstructor
  /**
   * 'websocket' or 'http' (Engine.IO long-polling to a Tandem server's `/tandem/http/`) only;
   * 'auto' starts on WebSocket, moves to HTTP when WebSocket fails the way a proxy that refuses
   * upgrades makes it fail, and moves back once a probe finds WebSocket working. Default 'auto'.
   */
  transport?: 'auto' | TransportName
  /** 'auto': a WebSocket handshake not done after this long counts as failed, ms. Default 5 000. */
  handshakeTimeoutMs?: number
  /** 'auto' on HTTP: how often to probe whether WebSocket works again, ms. Default 30 000. */
  upgradeProbeMs?: number
}
