import type { IncomingMessage } from 'node:http'
import type { Access } from '../net/upgrade.js'

/**
 * Guards /api routes with the same rules as the WebSocket upgrade. Allowed: who asked (the token's
 * `sub`, or the library hook's user; undefined on an open server), so a write can say who wrote it.
 * Refused: the HTTP status to answer with. `need` 'write' (a write route) refuses a read token with
 * 403 `read-only`; without it only reading is asked for.
 */
type HttpDecision = { ok: true; principal: string | undefined } | { ok: false; status: number; reason: string }

export type HttpAuthorizer = (req: IncomingMessage, url: URL, room: string, need?: Access) => Promise<HttpDecision>
