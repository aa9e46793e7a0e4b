import type { IncomingMessage, ServerResponse } from 'node:http'
import { ProtocolError, WILDCARD_ROOM, validateRoomName } from '@tandem/sync'
import type { Access } from '../net/upgrade.js'
import type { RoomRegistry } from '../room/registry.js'
import { InvalidContent } from '../content/errors.js'
import { ConversionUnavailable, createConverter } from '../content/converter.js'
import { ApiError, sendError } from './http.js'
import { deleteRoom, listRooms, postUpdate } from './rooms.js'
import { createRoomLocks, refusal } from './writes.js'
import type { ApiDeps } from './deps.js'
import { versionRoutes } from './versions.js'
import { uploadRoutes } from './uploads.js'

/**
 * The HTTP API beyond /state (README "API"):
 *
 *   GET    /api/rooms?prefix=&limit=&cursor=   stored rooms (a token for room "*")
 *   DELETE /api/rooms/<room>                   close its connections (4404), delete its data
 *   GET    /api/rooms/<room>/content?format=   json | markdown | html | text, with an ETag
 *   PUT    /api/rooms/<room>/content           replace the document (If-None-Match: *, If-Match)
 *   POST   /api/rooms/<room>/content           append to it
 *   POST   /api/rooms/<room>/updates           a Yjs update
 *   …      /api/rooms/<room>/versions…         version history (versions.ts)
 *   …      /api/rooms/<room>/uploads…          images of the document (uploads.ts)
 *
 * Same token and Origin rules as the WebSocket upgrade; writes need `access: "write"`. Errors
 * are JSON `{ error, message }`.
 */

export type ApiHandler = ((req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>) & {
  /** stops the conversion thread */
  close(): Promise<void>
}

/** A content conversion may take this long (then its thread is stopped: 503), and this many may wait. */
const CONVERSION_TIMEOUT_MS = 10_000
const MAX_QUEUED_CONVERSIONS = 32

const ROOMS = '/api/rooms'
const ROOM_PATH = /^\/api\/rooms\/([^/]+)(?:\/(content|updates))?$/

export function createApiRoutes(deps: Omit<ApiDeps, 'locks' | 'converter' | 'writers'>): ApiHandler {
  const converter = createConverter({ timeoutMs: CONVERSION_TIMEOUT_MS, maxQueued: MAX_QUEUED_CONVERSIONS })
  const writers = new WeakMap<IncomingMessage, string>()
  const api: ApiDeps = { ...deps, locks: createRoomLocks(), converter, writers }
  let content: Promise<typeof import('./content.js')> | undefined
  const contentRoutes = () => (content ??= import('./content.js'))

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname
    const method = req.method ?? 'GET'
    if (path === ROOMS) {
      allow(method, ['GET'])
      await authorize(req, url, WILDCARD_ROOM, 'read')
      await listRooms(api, res, url)
      return true
    }
    if (await versionRoutes(api, { authorize, roomName }, req, res, url)) return true
    if (await uploadRoutes(api, { authorize, roomName }, req, res, url)) return true
    const m = ROOM_PATH.exec(path)
    if (!m) return false
    const room = roomName(m[1]!)
    switch (m[2]) {
      case undefined:
        allow(method, ['DELETE'])
        await authorize(req, url, room, 'write')
        await deleteRoom(api, res, room)
        return true
      case 'content': {
        allow(method, ['GET', 'PUT', 'POST'])
        await authorize(req, url, room, method === 'GET' ? 'read' : 'write')
        const { getContent, writeContent } = await contentRoutes()
        if (method === 'GET') await withRoom(room, (r) => getContent(api, req, res, url, r))
        else await writeContent(api, req, res, room, method === 'PUT' ? 'replace' : 'append')
        return true
      }
      default:
        allow(method, ['POST'])
        await authorize(req, url, room, 'write')
        await postUpdate(api, req, res, room)
        return true
    }
  }

  async function withRoom(name: string, fn: (room: Awaited<ReturnType<RoomRegistry['acquire']>>) => Promise<void>): Promise<void> {
    const room = await deps.registry.acquire(name)
    try {
      await fn(room)
    } finally {
      deps.registry.release(room)
    }
  }

  /** Throws the refusal; allowed, records who asked (`writerOf`: the author of what the request writes). */
  async function authorize(req: IncomingMessage, url: URL, room: string, need: Access): Promise<void> {
    const d = await deps.authorizeHttp(req, url, room, need)
    if (!d.ok) throw new ApiError(d.status, d.reason, d.status === 401 ? 'a valid token is required' : 'the token does not allow this')
    if (d.principal !== undefined) writers.set(req, d.principal)
  }

  const handler = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    try {
      return await route(req, res, url)
    } catch (err) {
      const answer = asApiError(err)
      if (!answer) throw err // the router's own handler logs it and answers 500
      if (res.headersSent) res.destroy()
      else sendError(res, answer)
      return true
    }
  }
  return Object.assign(handler, { close: () => converter.close() })
}

function allow(method: string, allowed: string[]): void {
  if (!allowed.includes(method)) throw new ApiError(405, 'method-not-allowed', `${method} is not allowed here`, { Allow: allowed.join(', ') })
}

function roomName(segment: string): string {
  try {
    return validateRoomName(decodeURIComponent(segment))
  } catch (err) {
    throw new ApiError(400, err instanceof ProtocolError ? err.reason : 'room-encoding', err instanceof ProtocolError ? err.message : 'bad room name')
  }
}

function asApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err
  if (err instanceof InvalidContent) return new ApiError(400, 'invalid-content', err.message)
  if (err instanceof ConversionUnavailable) return new ApiError(503, 'conversion-unavailable', err.message, { 'Retry-After': '5' })
  if (err instanceof ProtocolError) return refusal(err.closeCode, err.reason, err.message)
  return undefined
}

/** The route label of `tandem_http_requests_total`: a fixed set, whatever the path. */
export function routeLabel(path: string): string {
  if (path === '/healthz' || path === '/metrics') return path.slice(1)
  if (path === ROOMS) return 'rooms'
  if (path === '/api/revocations') return 'revocations'
  if (path.startsWith('/api/')) {
    if (/^\/api\/rooms\/[^/]+\/versions(?:\/|$)/.test(path)) return 'versions'
    if (/^\/api\/rooms\/[^/]+\/uploads(?:\/|$)/.test(path)) return 'uploads'
    const m = /^\/api\/rooms\/[^/]+(?:\/(content|updates|state))?$/.exec(path)
    return m ? (m[1] ?? 'room') : 'api-other'
  }
  return 'editor'
}
