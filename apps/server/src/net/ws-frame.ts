import WebSocket from 'ws'

/**
 * A binary message framed ONCE for many receivers.
 *
 * A server's WebSocket frames are not masked, so the frame for a message (header + payload) is
 * the same bytes for every receiver. `ws.send` rebuilds the header per socket and writes header
 * and payload as two buffers (cork, two writes, uncork: a writev), with two option objects
 * allocated per call. For a broadcast to N peers, framing once and handing each socket the one
 * finished buffer takes that work out of the hottest loop of the server (about half of its CPU is
 * per-receiver sending), the last step of "encode once".
 */
export interface SharedFrame {
  /** the message (what `ws.send` would be given) */
  readonly payload: Uint8Array
  /** header + payload, built on first use */
  wire: Buffer | undefined
}

export const sharedFrame = (payload: Uint8Array): SharedFrame => ({ payload, wire: undefined })

/** RFC 6455 §5.2: FIN + binary opcode, unmasked, 7/16/64-bit payload length. */
export function frameBinary(payload: Uint8Array): Buffer {
  const n = payload.length
  const headerLength = n < 126 ? 2 : n < 65536 ? 4 : 10
  const out = Buffer.allocUnsafe(headerLength + n)
  out[0] = 0x82
  if (n < 126) {
    out[1] = n
  } else if (n < 65536) {
    out[1] = 126
    out.writeUInt16BE(n, 2)
  } else {
    out[1] = 127
    out.writeUInt32BE(Math.floor(n / 2 ** 32), 2)
    out.writeUInt32BE(n >>> 0, 6)
  }
  out.set(payload, headerLength)
  return out
}

/**
 * What of ws' internals a direct write relies on (ws 8, pinned in the workspace catalog): the
 * socket, and a sender with nothing queued (it queues only while compressing or reading a Blob;
 * this server negotiates no compression and sends no Blobs). When any of it is not as expected,
 * the frame goes through `ws.send` instead: slower, never wrong.
 */
interface WsInternals {
  _socket?: { write(chunk: Buffer): boolean; destroyed?: boolean } | null
  _sender?: { _state?: number; _queue?: unknown[]; _firstFragment?: boolean } | null
}

/** Sends a shared frame: the prebuilt bytes straight to the socket when that is safe, else `ws.send`. */
export function sendShared(ws: WebSocket, frame: SharedFrame): void {
  const { _socket: socket, _sender: sender } = ws as unknown as WsInternals
  if (
    ws.readyState === WebSocket.OPEN &&
    socket &&
    !socket.destroyed &&
    sender &&
    sender._state === 0 &&
    sender._firstFragment === true &&
    sender._queue?.length === 0
  ) {
    socket.write((frame.wire ??= frameBinary(frame.payload)))
  } else {
    ws.send(frame.payload)
  }
}
