import type { IncomingMessage } from 'node:http'
import type { Logger } from '../log.js'
import type { RoomRegistry } from '../room/registry.js'
import type { Authorizer } from './upgrade.js'
import type { MuxConnection, MuxOpening } from './mux-connection.js'

/**
 * Opening a room on a multiplexed socket goes through the checks an upgrade to that room goes
 * through, in the same order (server.ts `upgrade`): the token for this room, with the Origin
 * the socket's handshake carried (the authorizer sees them as the request of an upgrade would
 * carry them), then the admission limits (each open room counts as a connection of the
 * client's address and of the room), then the room load.
 */
export function createMuxOpener(deps: {
  authorize: Authorizer
  admit(address: string, room: string): { ok: true; release(): void } | { ok: false; status: number; reason: string }
  registry: Pick<RoomRegistry, 'acquire' | 'release'>
  log: Logger
  draining(): boolean
}): (conn: MuxConnection, room: string, token: string) => Promise<MuxOpening> {
  return async (conn, room, token) => {
    if (deps.draining()) return { ok: false, status: 503, reason: 'shutting-down' }
    const decision = await deps.authorize(tokenRequest(conn.client.origin, token), room)
    if (!decision.ok) return decision
    const slot = deps.admit(conn.client.address, room)
    if (!slot.ok) return slot
    let loaded
    try {
      loaded = await deps.registry.acquire(room)
    } catch (err) {
      slot.release()
      deps.log.error({ err, room }, 'room failed to load')
      return { ok: false, status: 503, reason: 'room-unavailable' }
    }
    const joined = loaded
    if (deps.draining()) {
      deps.registry.release(joined)
      slot.release()
      return { ok: false, status: 503, reason: 'shutting-down' }
    }
    return {
      ok: true,
      room: joined,
      decision,
      release: () => {
        slot.release()
        deps.registry.release(joined)
      },
    }
  }
}

/** The request an upgrade to the room would have made: the handshake's Origin, and the token as `?token=`. */
function tokenRequest(origin: string | undefined, token: string): IncomingMessage {
  const url = token === '' ? '/' : `/?token=${encodeURIComponent(token)}`
  return { url, headers: origin === undefined ? {} : { origin } } as IncomingMessage
}
