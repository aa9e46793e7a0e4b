import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

/**
 * Wire format of one Redis pub/sub message between Tandem servers (binary, never JSON):
 *
 *   u8      version (1); a different version is ignored, so a rolling upgrade never misparses
 *   u8      type: 0 update | 1 awareness | 2 heartbeat | 3 resync | 4 bye | 5 hello | 6 deleted
 *   varStr  sender: the publishing server's id (a server ignores its own messages)
 *   f64     sentAt: Date.now() at the publisher, for the fan-out lag metric (clock skew applies)
 *   rest    payload: a Yjs update (update), a y-protocols awareness update (awareness),
 *           empty otherwise
 *
 * deleted (room channel): "I deleted this room from the store" (DELETE /api/rooms/<room>): peers
 * close its connections (4404) and drop it without a snapshot.
 *
 * hello (room channel): "I just subscribed to this room": peers answer with the presence of
 * their own clients in it, which would otherwise only reach us at their next renewal (≤ 15 s).
 *
 * Channels: `${prefix}:room:${room}` carry update/awareness/resync/hello/deleted for one room;
 * `${prefix}:servers` carries heartbeat/bye, one per server, not one per room;
 * `${prefix}:probe:${serverId}` carries a server's liveness probes (heartbeat type) to itself
 * alone (redis-liveness.ts).
 */
const WIRE_VERSION = 1

export const WireType = { Update: 0, Awareness: 1, Heartbeat: 2, Resync: 3, Bye: 4, Hello: 5, Deleted: 6 } as const
export type WireType = (typeof WireType)[keyof typeof WireType]

export interface WireMessage {
  type: WireType
  sender: string
  sentAt: number
  payload: Uint8Array
}

export function encodeWire(type: WireType, sender: string, payload: Uint8Array = EMPTY, sentAt = Date.now()): Buffer {
  const enc = encoding.createEncoder()
  encoding.writeUint8(enc, WIRE_VERSION)
  encoding.writeUint8(enc, type)
  encoding.writeVarString(enc, sender)
  encoding.writeFloat64(enc, sentAt)
  const header = encoding.toUint8Array(enc)
  // One copy of the payload, into the buffer ioredis writes to the socket.
  const out = Buffer.allocUnsafe(header.length + payload.length)
  out.set(header, 0)
  out.set(payload, header.length)
  return out
}

/** undefined for anything that is not a well-formed message of this version. */
export function decodeWire(buf: Uint8Array): WireMessage | undefined {
  try {
    const dec = decoding.createDecoder(buf)
    if (decoding.readUint8(dec) !== WIRE_VERSION) return undefined
    const type = decoding.readUint8(dec)
    if (type > WireType.Deleted) return undefined
    const sender = decoding.readVarString(dec)
    const sentAt = decoding.readFloat64(dec)
    return { type: type as WireType, sender, sentAt, payload: buf.subarray(dec.pos) }
  } catch {
    return undefined
  }
}

const EMPTY = new Uint8Array(0)
