import type { IncomingMessage } from 'node:http'
import { ProtocolError, roomFromPath } from '@tandem/sync'

export type Access = 'write' | 'read'

/** An upgrade is either admitted to a room with an access level, or refused with an HTTP status. */
export type UpgradeDecision =
  | {
      ok: true
      room: string
      access: Access
      subject?: string
      expiresAt?: number
      /** the token's jti and iat (ms): what a revocation can match */
      tokenId?: string
      issuedAt?: number
    }
  | { ok: false; status: number; reason: string }

/**
 * Decides who may open a socket to which room. Runs in server.on('upgrade') BEFORE the
 * WebSocket exists, so a refusal is a plain HTTP status the client can see (400/401/403/503),
 * never an open-then-close. Access control (tokens, Origin) plugs in as `authorize`.
 */
export type Authorizer = (req: IncomingMessage, room: string) => Promise<UpgradeDecision>

export async function decideUpgrade(req: IncomingMessage, authorize: Authorizer): Promise<UpgradeDecision> {
  let room: string
  try {
    room = roomFromPath(req.url ?? '/')
  } catch (err) {
    return { ok: false, status: 400, reason: err instanceof ProtocolError ? err.reason : 'bad-path' }
  }
  return authorize(req, room)
}
