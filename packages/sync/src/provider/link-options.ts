/**
 * The Link's options, checked once at construction: a mistake in them is the application's,
 * and throws from `new SyncProvider(...)` before anything is created.
 */
import { validateRoomName } from '../protocol/room-name.js'
import type { BackoffOptions } from './backoff.js'
import { defaultWebSocket } from './runtime.js'
import type { TransportMode, TransportTiming } from './transport-choice.js'
import type { SyncProviderOptions, TokenSource, UrlSource, WebSocketConstructor } from './types.js'

/** The options of SyncProvider the Link reads; documented there (types.ts). */
export type LinkOptions = Pick<
  SyncProviderOptions,
  | 'url'
  | 'room'
  | 'token'
  | 'params'
  | 'WebSocket'
  | 'initialBackoffMs'
  | 'maxBackoffMs'
  | 'deadLinkTimeoutMs'
  | 'savedAcks'
  | 'connect'
  | 'transport'
  | 'handshakeTimeoutMs'
  | 'upgradeProbeMs'
>

/** LinkOptions checked, defaults filled in, and copied (a caller's later change to them does nothing). */
export interface LinkConfig {
  readonly room: string
  /** A list is never empty (linkConfig refuses an empty one), and says so in its type. */
  readonly urls: string | readonly [string, ...string[]] | (() => string)
  readonly token: TokenSource | undefined
  readonly params: Readonly<Record<string, string>>
  readonly WebSocket: WebSocketConstructor
  readonly backoff: BackoffOptions
  /** Infinity: never. */
  readonly deadLinkTimeoutMs: number
  /** Offer SAVED_ACK_PROTOCOL to servers that have not rejected it. */
  readonly offerAcks: boolean
  /** Connect at once; the owner calls connect(). */
  readonly connect: boolean
  readonly transport: TransportMode
  readonly transportTiming: TransportTiming
}

function checkMs(name: string, value: number, allowInfinity: boolean): number {
  const ok = value >= 0 && (Number.isFinite(value) || (allowInfinity && value === Infinity))
  if (!ok) throw new RangeError(`SyncProvider: ${name} must be a non-negative number of ms, got ${value}`)
  return value
}

/** A copy of a url list, typed non-empty; a string or function as it is. */
function checkUrls(url: UrlSource): LinkConfig['urls'] {
  if (typeof url === 'string' || typeof url === 'function') return url
  const [first, ...rest] = url
  if (first === undefined) throw new RangeError('SyncProvider: url list is empty')
  return [first, ...rest]
}

/** Throws TypeError, RangeError or ProtocolError (room name) for the first option that is unusable. */
export function linkConfig(options: LinkOptions): LinkConfig {
  const WebSocket = options.WebSocket ?? defaultWebSocket()
  if (WebSocket === undefined) {
    throw new TypeError('SyncProvider: no global WebSocket; pass options.WebSocket (e.g. the `ws` package)')
  }
  const urls = checkUrls(options.url)
  const room = validateRoomName(options.room)
  const backoff: BackoffOptions = {
    initialMs: checkMs('initialBackoffMs', options.initialBackoffMs ?? 250, false),
    maxMs: checkMs('maxBackoffMs', options.maxBackoffMs ?? 30_000, false),
  }
  const deadLinkTimeoutMs = checkMs('deadLinkTimeoutMs', options.deadLinkTimeoutMs ?? 30_000, true)
  if (deadLinkTimeoutMs === 0) throw new RangeError('SyncProvider: deadLinkTimeoutMs must be > 0')
  const transport = options.transport ?? 'auto'
  if (transport !== 'auto' && transport !== 'websocket' && transport !== 'http') {
    throw new RangeError(`SyncProvider: transport must be 'auto', 'websocket' or 'http', got ${String(transport)}`)
  }
  const transportTiming: TransportTiming = {
    handshakeTimeoutMs: checkMs('handshakeTimeoutMs', options.handshakeTimeoutMs ?? 5_000, false),
    probeMs: checkMs('upgradeProbeMs', options.upgradeProbeMs ?? 30_000, false),
  }
  return {
    room,
    urls,
    token: options.token,
    params: { ...options.params },
    WebSocket,
    backoff,
    deadLinkTimeoutMs,
    offerAcks: options.savedAcks ?? true,
    connect: options.connect ?? true,
    transport,
    transportTiming,
  }
}
