import { CloseCode, ProtocolError } from './errors.js'

/** Room names are capped so a hostile URL cannot grow maps, logs and metrics without bound. */
export const MAX_ROOM_NAME_BYTES = 256

// Control characters (C0, DEL, C1) have no business in a name that ends up in logs and URLs.
// eslint-disable-next-line no-control-regex -- matching control characters is this pattern's job
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/**
 * A token's `room: "*"` means every room, so no room may be called `*`: a backend that mints
 * tokens for user-chosen room names would otherwise hand out an all-rooms token to whoever
 * picked that name. Refused here, where the client and the server both check names.
 */
export const WILDCARD_ROOM = '*'

/** Validates a decoded room name; throws ProtocolError (closeCode 400 semantics) when unusable. */
export function validateRoomName(name: string): string {
  if (name.length === 0) throw new ProtocolError('empty room name', CloseCode.PolicyViolation, 'room-empty')
  if (name === WILDCARD_ROOM) {
    throw new ProtocolError('"*" is not a room name: in a token it means every room', CloseCode.PolicyViolation, 'room-reserved')
  }
  if (CONTROL.test(name)) throw new ProtocolError('room name contains control characters', CloseCode.PolicyViolation, 'room-control')
  if (new TextEncoder().encode(name).length > MAX_ROOM_NAME_BYTES) {
    throw new ProtocolError(`room name longer than ${MAX_ROOM_NAME_BYTES} bytes`, CloseCode.PolicyViolation, 'room-too-long')
  }
  return name
}

/**
 * Room from a request path: `/<room>?query` → room, percent-decoded.
 * The whole path after the leading '/' is the room, so `a/b` and `a%2Fb` name the same room.
 */
export function roomFromPath(pathWithQuery: string): string {
  const q = pathWithQuery.search(/[?#]/)
  const path = q === -1 ? pathWithQuery : pathWithQuery.slice(0, q)
  if (!path.startsWith('/')) throw new ProtocolError('path must start with /', CloseCode.PolicyViolation, 'room-path')
  let decoded: string
  try {
    decoded = decodeURIComponent(path.slice(1))
  } catch {
    throw new ProtocolError('room name is not valid percent-encoding', CloseCode.PolicyViolation, 'room-encoding')
  }
  return validateRoomName(decoded)
}

/** Path segment for a room; the inverse of roomFromPath. */
export const roomToPath = (room: string): string => encodeURIComponent(room)
