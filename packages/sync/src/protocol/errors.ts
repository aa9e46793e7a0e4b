/**
 * Close codes Tandem uses. The WebSocket range 1000-2999 is standard (RFC 6455 §7.4.1);
 * 4000-4999 is ours. Clients treat 4400-4499 as permanent ("do not retry") like
 * y-websocket 3.x does; everything else is transient and retried with backoff.
 */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001, // server shutting down: reconnect elsewhere / later
  AbnormalClosure: 1006, // never on the wire: a socket that failed (a room refused on a shared socket reports it, as a browser reports a refused upgrade)
  UnsupportedData: 1003, // text frame
  InvalidPayload: 1007, // malformed frame or invalid Yjs update / awareness
  PolicyViolation: 1008, // read-only write, rate limit, awareness spoofing
  MessageTooBig: 1009, // frame above MAX_PAYLOAD_BYTES
  InternalError: 1011, // the server could not store an update: resync on reconnect
  TryAgainLater: 1013, // slow consumer: too many bytes buffered; reconnect and resync
  TokenExpired: 4001, // transient: fetch a fresh token and reconnect
  PendingUnresolved: 4002, // part of an update waited too long for what it depends on, or past the room's budget: reconnect and resync
  RoomDeleted: 4404, // permanent: the room was deleted (DELETE /api/rooms/<room>); a later open starts an empty one
  DocTooLarge: 4413, // permanent: the update would take the room past its document budget
  PermanentMin: 4400,
  PermanentMax: 4499,
} as const
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode]

export const isPermanentClose = (code: number): boolean =>
  code >= CloseCode.PermanentMin && code <= CloseCode.PermanentMax

/** Anything wrong with bytes a peer sent. Carries the close code for the one boundary that closes the socket. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError'
  constructor(
    message: string,
    readonly closeCode: number = CloseCode.InvalidPayload,
    /** short machine-readable reason for metrics labels */
    readonly reason: string = 'malformed',
  ) {
    super(message)
  }
}
