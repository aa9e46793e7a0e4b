import type { IncomingMessage } from 'node:http'
import type { Access } from '../net/upgrade.js'

/**
 * Guards /api routes with the same rules as the WebSocket upgrade. Returns undefined when
 * allowed, or the HTTP status to answer with. `need` 'write' (a write route) refuses a read
 * token with 403 `read-only`; without it only reading is asked for.
 */
export type HttpAuthorizer = (req: IncomingMessage, url: URL, room: string, need?: Access) => Promise<{ status: number; reason: string } | undefined>
