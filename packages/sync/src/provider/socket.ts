/**
 * Socket-level helpers of the Link (link.ts): bytes in, URLs, detaching and closing sockets,
 * recognising a rejected subprotocol offer. Stateless.
 */
import { CloseCode, ProtocolError } from '../protocol/errors.js'
import { roomToPath } from '../protocol/room-name.js'
import type { WebSocketLike } from './types.js'

export const OPEN = 1 // WebSocket.OPEN; the same constant in every implementation
const NORMAL_CLOSE = CloseCode.Normal // browsers reject any other code below 3000 in close()
export const MAX_TIMER_MS = 2 ** 31 - 1 // setTimeout fires at once for anything larger
const ignore = (): void => {}

export type Timer = ReturnType<typeof setTimeout>

/** Binary frame bytes from a message event's data, without copying. */
export function toBytes(data: unknown): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  // An ArrayBuffer from another realm (iframe, jsdom) fails instanceof.
  if (Object.prototype.toString.call(data) === '[object ArrayBuffer]') return new Uint8Array(data as ArrayBuffer)
  throw new ProtocolError('text or unknown frame from server', CloseCode.UnsupportedData, 'text-frame')
}

/** A base URL without trailing slashes: one server, one spelling (used as a key). */
export const normalizeBase = (base: string): string => base.replace(/\/+$/, '')

export function connectionUrl(base: string, room: string, params: Readonly<Record<string, string>>, token: string | undefined): string {
  const query = new URLSearchParams(params)
  if (token !== undefined && token !== '') query.set('token', token)
  const qs = query.toString()
  return `${normalizeBase(base)}/${roomToPath(room)}${qs === '' ? '' : `?${qs}`}`
}

/**
 * True for the error the `ws` package raises when a server answers a subprotocol offer with
 * none ("Server sent no subprotocol") or with one we did not offer. Browsers and undici accept
 * a server that selects none, and give error events no message; `ws` is the one client that
 * fails this way, and it names the reason. Matching the reason (rather than treating any
 * failure before 'open' as a rejection) matters: a server that is merely down also fails
 * before 'open', and dropping the offer for it would lose acknowledgements for good.
 */
export function isSubprotocolRejection(event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false
  const message = 'message' in event && typeof event.message === 'string' ? event.message : ''
  const error = 'error' in event && event.error instanceof Error ? event.error.message : ''
  return /subprotocol/i.test(message) || /subprotocol/i.test(error)
}

/** Stops a socket from reaching the Link again. */
export function detach(ws: WebSocketLike): void {
  ws.onopen = null
  ws.onmessage = null
  ws.onclose = null
  // Swallowed rather than removed: closing a socket that is still connecting reports an error,
  // and `ws` (an EventEmitter) rethrows an 'error' nobody listens to as an uncaught exception.
  ws.onerror = ignore
}

export function closeQuietly(ws: WebSocketLike, reason: string): void {
  try {
    // Close reasons are limited to 123 bytes; ours are short ASCII.
    ws.close(NORMAL_CLOSE, reason.slice(0, 120))
  } catch {
    // Nothing to do: the socket is abandoned either way, and a throw here would skip the retry.
  }
}
