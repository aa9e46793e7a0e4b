/**
 * The HTTP transport (Engine.IO long-polling; docs/protocol.md "HTTP transport"): the same binary
 * messages as on a WebSocket, one Engine.IO binary message per WebSocket message. Engine.IO has
 * no close codes, so the server sends one TEXT message before it closes a session, carrying the
 * code and reason a WebSocket close frame would: `close <code> <reason>` (code 1000-4999 in
 * decimal, one space, the reason: at most 123 bytes of UTF-8, as in a close frame). Text is
 * never otherwise used in either direction.
 */

/** Where the transport is mounted on a Tandem server (the room is the `room` query parameter). */
export const HTTP_TRANSPORT_PATH = '/tandem/http/'

/** The query parameter a client sets to SAVED_ACK_PROTOCOL to ask for acknowledgements (WebSocket: the subprotocol). */
export const HTTP_PROTOCOL_PARAM = 'protocol'

const CLOSE = /^close ([1-4]\d{3}) ([^]{0,123})$/

export function writeHttpClose(code: number, reason: string): string {
  return `close ${code} ${reason.slice(0, 120)}`
}

/** The code and reason of a close message; undefined for any other text. */
export function readHttpClose(text: string): { code: number; reason: string } | undefined {
  const m = CLOSE.exec(text)
  return m ? { code: Number(m[1]), reason: m[2]! } : undefined
}
