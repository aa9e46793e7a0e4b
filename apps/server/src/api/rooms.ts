import type { IncomingMessage, ServerResponse } from 'node:http'
import { CloseCode } from '@tandem/sync'
import type { Room } from '../room/room.js'
import { API_ORIGIN } from '../room/tx-origins.js'
import { IntegrationFailed, integrate } from '../update/integrate.js'
import { inspectUpdate } from '../update/inspect.js'
import { docFrom } from '../content/ydoc.js'
import { ApiError, mediaType, readBody, sendJson } from './http.js'
import { submitUpdate } from './writes.js'
import type { ApiDeps } from './deps.js'

/** POST /api/rooms/<room>/updates, GET /api/rooms, DELETE /api/rooms/<room>. */

/**
 * A Yjs update (v1), as a client would send it, through the same path and limits. One that
 * depends on changes the room does not have is refused whole (409) instead of waiting, part of
 * it parked, for changes an HTTP client will never send: checked on a copy of the stored state
 * with the same gate the update path uses.
 */
export async function postUpdate(deps: ApiDeps, req: IncomingMessage, res: ServerResponse, roomName: string): Promise<void> {
  if (mediaType(req) !== 'application/octet-stream') {
    throw new ApiError(415, 'unsupported-media-type', 'Content-Type must be application/octet-stream (a Yjs update)', { Accept: 'application/octet-stream' })
  }
  const update = new Uint8Array(await readBody(req, res, deps.maxPayloadBytes))
  const info = inspectUpdate(update) // ProtocolError 1007: a 400 below
  const changed = await deps.locks.run(roomName, async () => {
    const room = await deps.registry.acquire(roomName)
    try {
      if (info.hasContent) checkComplete(await room.encodeState(), update, deps.maxNestingDepth, info.types > 0)
      return (await submitUpdate(room, update, undefined, deps.writers.get(req))) !== undefined
    } finally {
      deps.registry.release(room)
    }
  })
  sendJson(res, 200, { room: roomName, changed })
}

function checkComplete(state: Uint8Array, update: Uint8Array, maxNestingDepth: number, hasTypes: boolean): void {
  const doc = docFrom(state)
  try {
    if (integrate(doc, update, API_ORIGIN, { maxNestingDepth, hasTypes }).pending) {
      throw new ApiError(409, 'missing-dependencies', 'the update depends on changes the room does not have; nothing of it was stored')
    }
  } catch (err) {
    if (err instanceof IntegrationFailed) throw new ApiError(400, 'invalid-update', 'Yjs cannot integrate the update')
    throw err
  } finally {
    doc.destroy()
  }
}

const DEFAULT_LIMIT = 100
const MAX_LIMIT = 1000

/**
 * Stored rooms, by name in the store's order, a page at a time: `cursor` is the previous page's
 * `next` (opaque), null on the last page. `clients` counts connections on every server (the
 * fan-out's counts of the others, a heartbeat or so old), on this one alone while Redis is down.
 */
export async function listRooms(deps: ApiDeps, res: ServerResponse, url: URL): Promise<void> {
  const prefix = url.searchParams.get('prefix') ?? ''
  const limitParam = url.searchParams.get('limit')
  const limit = limitParam === null ? DEFAULT_LIMIT : Number(limitParam)
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new ApiError(400, 'bad-limit', `limit must be an integer from 1 to ${MAX_LIMIT}`)
  const cursor = url.searchParams.get('cursor')
  let after: string | undefined
  if (cursor !== null) {
    after = Buffer.from(cursor, 'base64url').toString('utf8')
    if (after === '' || Buffer.from(after, 'utf8').toString('base64url') !== cursor) throw new ApiError(400, 'bad-cursor', 'cursor is not one this API returned')
  }
  const rooms = await deps.store.listRooms({ prefix, after, limit })
  const remote = rooms.length ? await deps.fanout.remoteClients?.(rooms.map((r) => r.room)) : undefined
  const last = rooms.length === limit ? rooms[rooms.length - 1] : undefined
  sendJson(res, 200, {
    rooms: rooms.map((r) => ({
      name: r.room,
      bytes: r.bytes,
      createdAt: iso(r.createdAt),
      updatedAt: iso(r.updatedAt),
      clients: (deps.registry.peek(r.room)?.peers.size ?? 0) + (remote?.get(r.room) ?? 0),
    })),
    next: last ? Buffer.from(last.room, 'utf8').toString('base64url') : null,
  })
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString())

/**
 * Closes the room's connections on this server with 4404 (RoomDeleted: clients stop retrying)
 * and removes everything the store holds for it; the next open starts an empty document.
 */
export async function deleteRoom(deps: ApiDeps, res: ServerResponse, roomName: string): Promise<void> {
  await deps.locks.run(roomName, () => deps.registry.remove(roomName, (room: Room) => room.shut(CloseCode.RoomDeleted, 'room deleted')))
  // Other servers close the room's connections and drop it (without a snapshot).
  deps.fanout.publish(roomName, { kind: 'deleted', payload: NOTHING })
  res.statusCode = 204
  res.end()
}

const NOTHING = new Uint8Array(0)
