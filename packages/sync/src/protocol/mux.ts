import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { CloseCode, ProtocolError } from './errors.js'
import { readString, readVarUint } from './frame.js'

/**
 * Many rooms over one WebSocket (docs/protocol.md "Many rooms over one connection").
 *
 * Negotiated like the "saved" extension: a client offers the subprotocol MUX_PROTOCOL on a
 * connection to the path `/` (no room). Every message is then tagged with a channel number the
 * client chose for a room:
 *
 *   muxMessage = varUint(channel) body
 *   channel 0  = control:  varUint(op) …
 *     Open (0)      client → server   varUint(ch) varString(room) varString(token)    token "" = none
 *     Opened (1)    server → client   varUint(ch) varUint(access)                      0 write, 1 read
 *     Closed (2)    both ways         varUint(ch) varUint(code) varString(reason)
 *     Keepalive (3) server → client   (empty)
 *   channel ≥ 1 = one ordinary frame (message-type.ts) of the room open on that channel,
 *                 the "saved" acknowledgements included (every write channel has them)
 *
 * Closed from the server: `code` is the HTTP status the upgrade would have answered for a
 * refused Open (400, 401, 403, 429, 503), or the close code a one-room socket would have closed
 * with (4001, 4404, 1007, 1008, …). Closed from the client ends its use of the room; the server
 * answers Closed(ch, 1000) once the channel number may be used again.
 */
export const MUX_PROTOCOL = 'tandem-mux-v1'

const MuxOp = {
  Open: 0,
  Opened: 1,
  Closed: 2,
  Keepalive: 3,
} as const

/** Largest channel number: a client needs one per room, and the server bounds how many it holds. */
const MAX_MUX_CHANNEL = 0xffff

/** Longest token an Open may carry (the same bound as a token on the upgrade). */
const MAX_MUX_TOKEN_BYTES = 8 * 1024

export type MuxControl =
  | { op: 'open'; channel: number; room: string; token: string }
  | { op: 'opened'; channel: number; access: 'write' | 'read' }
  | { op: 'closed'; channel: number; code: number; reason: string }
  | { op: 'keepalive' }

const encoded = (write: (e: encoding.Encoder) => void): Uint8Array => {
  const e = encoding.createEncoder()
  write(e)
  return encoding.toUint8Array(e)
}

/** The bytes in front of every frame of `channel`. */
export const muxPrefix = (channel: number): Uint8Array => encoded((e) => encoding.writeVarUint(e, channel))

export const writeMuxOpen = (channel: number, room: string, token: string): Uint8Array =>
  encoded((e) => {
    encoding.writeVarUint(e, 0)
    encoding.writeVarUint(e, MuxOp.Open)
    encoding.writeVarUint(e, channel)
    encoding.writeVarString(e, room)
    encoding.writeVarString(e, token)
  })

export const writeMuxOpened = (channel: number, access: 'write' | 'read'): Uint8Array =>
  encoded((e) => {
    encoding.writeVarUint(e, 0)
    encoding.writeVarUint(e, MuxOp.Opened)
    encoding.writeVarUint(e, channel)
    encoding.writeVarUint(e, access === 'write' ? 0 : 1)
  })

export const writeMuxClosed = (channel: number, code: number, reason: string): Uint8Array =>
  encoded((e) => {
    encoding.writeVarUint(e, 0)
    encoding.writeVarUint(e, MuxOp.Closed)
    encoding.writeVarUint(e, channel)
    encoding.writeVarUint(e, code)
    encoding.writeVarString(e, reason.slice(0, 120))
  })

export const MUX_KEEPALIVE = encoded((e) => {
  encoding.writeVarUint(e, 0)
  encoding.writeVarUint(e, MuxOp.Keepalive)
})

const bad = (message: string, reason: string) => new ProtocolError(message, CloseCode.InvalidPayload, reason)

function readChannel(d: decoding.Decoder, control: boolean): number {
  const channel = readVarUint(d, 'channel')
  if (channel > MAX_MUX_CHANNEL || (control && channel === 0)) throw bad(`channel ${channel} out of range`, 'mux-channel')
  return channel
}

/**
 * Splits a mux message: its channel, and where the rest starts (a frame for channel ≥ 1, a
 * control message for 0). Throws ProtocolError (1007) for a malformed channel number.
 */
export function readMuxHeader(bytes: Uint8Array): { channel: number; offset: number } {
  const d = decoding.createDecoder(bytes)
  const channel = readChannel(d, false)
  if (d.pos === bytes.length) throw bad('empty mux message', 'mux-empty')
  return { channel, offset: d.pos }
}

/** Reads the control message after a channel-0 header, exactly (no trailing byte). */
export function readMuxControl(bytes: Uint8Array, offset: number): MuxControl {
  const d = decoding.createDecoder(bytes)
  d.pos = offset
  const op = readVarUint(d, 'mux op')
  let msg: MuxControl
  switch (op) {
    case MuxOp.Open: {
      const channel = readChannel(d, true)
      const room = readString(d, 'room')
      const token = readString(d, 'token')
      if (token.length > MAX_MUX_TOKEN_BYTES) throw bad('token too long', 'mux-token')
      msg = { op: 'open', channel, room, token }
      break
    }
    case MuxOp.Opened: {
      const channel = readChannel(d, true)
      const access = readVarUint(d, 'access')
      if (access > 1) throw bad(`unknown access ${access}`, 'mux-access')
      msg = { op: 'opened', channel, access: access === 0 ? 'write' : 'read' }
      break
    }
    case MuxOp.Closed: {
      const channel = readChannel(d, true)
      const code = readVarUint(d, 'close code')
      msg = { op: 'closed', channel, code, reason: readString(d, 'close reason') }
      break
    }
    case MuxOp.Keepalive:
      msg = { op: 'keepalive' }
      break
    default:
      throw bad(`unknown mux op ${op}`, 'mux-op')
  }
  if (d.pos !== bytes.length) throw bad('trailing bytes after mux control message', 'trailing')
  return msg
}
