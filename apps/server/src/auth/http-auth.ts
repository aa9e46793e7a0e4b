import type { IncomingMessage } from 'node:http'

/**
 * Guards /api routes with the same rules as the WebSocket upgrade. Returns undefined when
 * allowed, or the HTTP status to answer with.
 */
export type HttpAuthorizer = (req: IncomingMessage, url: URL, room: string) => Promise<{ status: number; reason: string } | undefined>
