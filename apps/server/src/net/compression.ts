import type { PerMessageDeflateOptions, WebSocket } from 'ws'
import { sharedFrame, type Deflate, type SharedFrame } from './ws-frame.js'

/**
 * permessage-deflate (RFC 7692), the way encode-once needs it.
 *
 * ws negotiates the extension and inflates what clients send (bounded by its maxPayload: an
 * inflated message past MAX_PAYLOAD_BYTES closes that socket with 1009), but never compresses
 * for us: its threshold is infinite. The server compresses a message itself, ONCE, and writes the
 * same compressed frame to every receiver that negotiated the extension (ws-frame.ts). That is
 * valid for all of them because every negotiation carries server_no_context_takeover: each
 * message is a fresh DEFLATE stream that refers to nothing sent before it.
 * client_no_context_takeover lets ws drop its inflate stream after each inbound message instead
 * of keeping a 32 KiB window per socket for the life of the connection.
 */
export function wsDeflateOptions(enabled: boolean): PerMessageDeflateOptions | false {
  if (!enabled) return false
  return {
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
    // ws never compresses on its own (per socket, asynchronously, holding its send queue):
    // every compressed frame is built once by ws-frame.ts.
    threshold: Number.POSITIVE_INFINITY,
  }
}

/** ws' record of what was negotiated (ws 8): `_extensions['permessage-deflate'].params`. */
interface WsExtensions {
  _extensions?: Record<string, { params?: { server_max_window_bits?: number; server_no_context_takeover?: boolean } | null } | undefined>
}

/**
 * What a socket negotiated, for sending: undefined when it did not negotiate permessage-deflate
 * (or, never expected, without server_no_context_takeover: then a shared frame is not valid for
 * it, and it gets plain frames).
 */
export function negotiatedDeflate(ws: WebSocket, threshold: number): Deflate | undefined {
  const params = (ws as unknown as WsExtensions)._extensions?.['permessage-deflate']?.params
  if (!params?.server_no_context_takeover) return undefined
  return { windowBits: params.server_max_window_bits ?? 15, threshold }
}

/**
 * A message sent to one socket at a time but the same for many (a joiner's sync step 2 of the
 * whole document, encoded once per version by room/doc-state.ts) is compressed once too: the
 * shared frame is kept for as long as its bytes are.
 */
const perMessage = new WeakMap<Uint8Array, SharedFrame>()

export function sharedFrameOf(payload: Uint8Array): SharedFrame {
  let frame = perMessage.get(payload)
  if (!frame) perMessage.set(payload, (frame = sharedFrame(payload)))
  return frame
}
