import { constants as zlib, deflateRawSync } from 'node:zlib'
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
  /**
   * The permessage-deflate frame (RSV1 set), compressed on first use by a receiver that negotiated
   * it, indexed by the receiver's window bits (15 for every browser); null: compressing did not
   * make it smaller, the plain frame goes instead.
   */
  deflated: Array<Buffer | null> | undefined
}

export const sharedFrame = (payload: Uint8Array): SharedFrame => ({ payload, wire: undefined, deflated: undefined })

/**
 * What a receiver negotiated (net/compression.ts): undefined = no permessage-deflate. Messages
 * shorter than `threshold` go plain (a valid message on a compressing link: RSV1 unset).
 */
export interface Deflate {
  readonly windowBits: number
  readonly threshold: number
}

/**
 * zlib level 1: on scenario D's 370 KB document, 43 % of its size in 16 ms, against 40 % in
 * 42 ms at the default level 6 and 40 % in 143 ms at 9 (measured on the 2-core bench machine).
 * A join wave or a broadcast pays it once, whatever the number of receivers.
 */
const DEFLATE_LEVEL = 1

/**
 * RFC 7692 §7.2.1: DEFLATE the message, flush with an empty stored block, drop its 4 trailing
 * bytes (00 00 ff ff). A fresh stream per message is what server_no_context_takeover promises
 * every receiver: the frame refers to nothing before it, so one frame is valid for all of them.
 * null when the result is not smaller than the message.
 */
function deflateMessage(payload: Uint8Array, windowBits: number): Buffer | null {
  const out = deflateRawSync(payload, { level: DEFLATE_LEVEL, windowBits, finishFlush: zlib.Z_SYNC_FLUSH })
  const n = out.length - 4
  return n < payload.length ? out.subarray(0, n) : null
}

/**
 * The wire bytes of `frame` for a receiver with `deflate`: compressed once per window size, on
 * first use, and then shared. zlib cannot make a raw stream with an 8-bit window (node raises it
 * to 9), which would be invalid for a peer that asked for 8: such a peer gets plain frames.
 */
function wireFor(frame: SharedFrame, deflate: Deflate | undefined): Buffer {
  if (deflate && deflate.windowBits >= 9 && frame.payload.length >= deflate.threshold) {
    const cache = (frame.deflated ??= [])
    let compressed = cache[deflate.windowBits]
    if (compressed === undefined) {
      const body = deflateMessage(frame.payload, deflate.windowBits)
      compressed = cache[deflate.windowBits] = body && frameBinary(body, true)
    }
    if (compressed) return compressed
  }
  return (frame.wire ??= frameBinary(frame.payload))
}

/** RFC 6455 §5.2: FIN + binary opcode (+ RSV1 for a compressed message), unmasked, 7/16/64-bit payload length. */
export function frameBinary(payload: Uint8Array, compressed = false): Buffer {
  const { out, at } = frameHeader(payload.length, compressed, payload.length)
  out.set(payload, at)
  return out
}

/**
 * What of ws' internals a direct write relies on (ws 8, pinned in the workspace catalog): the
 * socket, and a sender with nothing queued (it queues only while compressing or reading a Blob;
 * this server never has ws compress (its threshold is infinite, net/compression.ts) and sends no
 * Blobs). When any of it is not as expected, the frame goes through `ws.send` instead,
 * uncompressed: slower, never wrong.
 */
interface WsInternals {
  _socket?: { write(chunk: Uint8Array): boolean; cork(): void; uncork(): void; destroyed?: boolean } | null
  _sender?: { _state?: number; _queue?: unknown[]; _firstFragment?: boolean } | null
}

/**
 * Sends a shared frame: the prebuilt bytes (compressed when the receiver negotiated
 * permessage-deflate and the message reaches the threshold) straight to the socket when that is
 * safe, else `ws.send`.
 */
export function sendShared(ws: WebSocket, frame: SharedFrame, deflate?: Deflate): void {
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
    socket.write(wireFor(frame, deflate))
  } else {
    ws.send(frame.payload)
  }
}

/** The frame header alone (as frameBinary writes it) for a payload of `n` bytes, with room for `extra` bytes after it. */
function frameHeader(n: number, compressed: boolean, extra: number): { out: Buffer; at: number } {
  const headerLength = n < 126 ? 2 : n < 65536 ? 4 : 10
  const out = Buffer.allocUnsafe(headerLength + extra)
  out[0] = compressed ? 0xc2 : 0x82
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
  return { out, at: headerLength }
}

/** Where the payload of a frame built by frameBinary starts. */
const payloadStart = (wire: Buffer): number => (wire[1]! < 126 ? 2 : wire[1] === 126 ? 4 : 10)

/**
 * A shared frame for one channel of a multiplexed socket (net/mux-connection.ts): the channel's
 * few `prefix` bytes, then the shared message, still encoded (and compressed) once. The header
 * and prefix are a small buffer of this receiver's; the message's bytes are the shared ones,
 * written after it (cork: one writev).
 *
 * Compressed, the message is RFC 7692's DEFLATE data: the prefix goes first as a stored block
 * (BFINAL 0, BTYPE 00: one byte, LEN, NLEN, the bytes), and the shared compressed blocks follow
 * unchanged. A stored block ends on a byte boundary, where the shared stream begins, and the
 * shared blocks only refer back within themselves, so the receiver inflates prefix + message.
 */
export function sendPrefixed(ws: WebSocket, prefix: Uint8Array, frame: SharedFrame, deflate: Deflate | undefined): void {
  const { _socket: socket, _sender: sender } = ws as unknown as WsInternals
  if (
    !(
      ws.readyState === WebSocket.OPEN &&
      socket &&
      !socket.destroyed &&
      sender &&
      sender._state === 0 &&
      sender._firstFragment === true &&
      sender._queue?.length === 0
    )
  ) {
    const whole = new Uint8Array(prefix.length + frame.payload.length)
    whole.set(prefix)
    whole.set(frame.payload, prefix.length)
    ws.send(whole)
    return
  }
  const compressed = deflate && frame.payload.length >= deflate.threshold ? wireFor(frame, deflate) : undefined
  if (compressed && compressed[0] === 0xc2) {
    const body = compressed.subarray(payloadStart(compressed))
    const stored = 5 + prefix.length
    const { out, at } = frameHeader(stored + body.length, true, stored)
    out[at] = 0x00
    out.writeUInt16LE(prefix.length, at + 1)
    out.writeUInt16LE(~prefix.length & 0xffff, at + 3)
    out.set(prefix, at + 5)
    socket.cork()
    socket.write(out)
    socket.write(body)
    socket.uncork()
    return
  }
  const { out, at } = frameHeader(prefix.length + frame.payload.length, false, prefix.length)
  out.set(prefix, at)
  socket.cork()
  socket.write(out)
  socket.write(frame.payload)
  socket.uncork()
}
