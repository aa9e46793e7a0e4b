import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Access } from '../net/upgrade.js'
import type { Room } from '../room/room.js'
import type { VersionMeta } from '../store/versions.js'
import { CONTENT_TYPE, FORMATS, type Format } from '../content/format-names.js'
import { ApiError, etagList, mediaType, readBody, sendJson, utf8 } from './http.js'
import { submitUpdate } from './writes.js'
import { withRestoreMarker } from '../history/restore-marker.js'
import type { RowEvent } from '../store/outbox.js'
import type { ApiDeps } from './deps.js'

/**
 * Version history over HTTP (history/history.ts takes the versions, the store keeps them):
 *
 *   GET   /api/rooms/<room>/versions?limit=&cursor=          newest first (ETag; 304 if unchanged)
 *   POST  /api/rooms/<room>/versions            {"name"}     a named version of the document now (201)
 *   PATCH /api/rooms/<room>/versions/<id>       {"name"}     name (or, with null, unname) a version
 *   GET   /api/rooms/<room>/versions/<id>/content?format=     json | markdown | html | text
 *   POST  /api/rooms/<room>/versions/<id>/restore            the document becomes that version
 *
 * Reads need a token for the room, everything else `access: "write"` (as for the content API).
 */

const PATH = /^\/api\/rooms\/([^/]+)\/versions(?:\/(\d{1,15})(?:\/(content|restore))?)?$/

/** A name's body is tiny: JSON with one short string. */
const MAX_NAME_BODY = 4096
const MAX_NAME_CHARS = 200
const DEFAULT_LIMIT = 50
const MAX_LIMIT = 200

export interface VersionRouteContext {
  authorize(req: IncomingMessage, url: URL, room: string, need: Access): Promise<void>
  roomName(segment: string): string
}

/** Answers a request under /api/rooms/<room>/versions; false for any other path. */
export async function versionRoutes(deps: ApiDeps, ctx: VersionRouteContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
  const m = PATH.exec(url.pathname)
  if (!m) return false
  const room = ctx.roomName(m[1]!)
  const id = m[2] === undefined ? undefined : Number(m[2])
  const method = req.method ?? 'GET'
  const what = m[3]
  const allowed = id === undefined ? ['GET', 'POST'] : what === undefined ? ['PATCH'] : what === 'content' ? ['GET'] : ['POST']
  if (!allowed.includes(method)) throw new ApiError(405, 'method-not-allowed', `${method} is not allowed here`, { Allow: allowed.join(', ') })
  await ctx.authorize(req, url, room, method === 'GET' ? 'read' : 'write')
  const history = deps.history
  const versions = deps.store.versions
  if (!history || !versions) throw new ApiError(501, 'history-unavailable', 'this store keeps no version history (STORE=memory)')

  if (id === undefined && method === 'GET') {
    const limit = intParam(url, 'limit', DEFAULT_LIMIT, MAX_LIMIT)
    const cursor = url.searchParams.get('cursor')
    const beforeId = cursor === null ? undefined : Number(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (beforeId !== undefined && !(Number.isSafeInteger(beforeId) && beforeId > 0 && Buffer.from(String(beforeId)).toString('base64url') === cursor)) {
      throw new ApiError(400, 'bad-cursor', 'cursor is not one this API returned')
    }
    // One more than asked: whether the page's last version has an older one (authorsExact, next).
    const rows = await versions.list(room, { beforeId, limit: limit + 1 })
    const page = rows.slice(0, limit)
    const keptAllSince = history.now() - history.retention.keepAllMs
    const body = JSON.stringify({
      room,
      versions: page.map((v, i) => ({ ...describe(v), authorsExact: authorsExact(rows[i + 1], keptAllSince) })),
      next: rows.length > limit ? Buffer.from(String(page[page.length - 1]!.id)).toString('base64url') : null,
      autoAfterMs: history.quietMs ?? null,
    })
    // Polled by every open History panel: a 304 when the page did not change costs no JSON parse
    // or render on the client, and little on the wire.
    const etag = `W/"${createHash('sha1').update(body).digest('base64url')}"`
    const match = etagList(req.headers['if-none-match'])
    res.setHeader('ETag', etag)
    res.setHeader('Cache-Control', 'private, no-cache')
    if (match === '*' || match?.some((t) => t.replace(/^W\//, '') === etag.slice(2))) {
      res.statusCode = 304
      res.end()
      return true
    }
    res.statusCode = 200
    res.setHeader('Content-Type', 'application/json; charset=utf-8')
    res.end(body)
    return true
  }
  if (id === undefined) {
    const name = await readName(deps, req, res, false)
    const made = await deps.locks.run(room, () => withRoom(deps, room, (r) => history.take(r, 'named', name)))
    sendJson(res, 201, describe(made))
    return true
  }
  if (what === undefined) {
    const name = await readName(deps, req, res, true)
    const renamed = await versions.rename(room, id, name)
    if (!renamed) throw notFound(id)
    sendJson(res, 200, describe(renamed))
    return true
  }
  const version = await versions.get(room, id)
  if (!version) throw notFound(id)

  if (what === 'content') {
    const format = (url.searchParams.get('format') ?? 'json') as Format
    if (!FORMATS.includes(format)) throw new ApiError(400, 'bad-format', `format must be one of ${FORMATS.join(', ')}`)
    const read = await deps.converter.read(version.state, format, etagList(req.headers['if-none-match']))
    res.setHeader('ETag', read.etag)
    // A version never changes (it may be deleted by retention): caches may keep it.
    res.setHeader('Cache-Control', 'private, max-age=86400, immutable')
    if (read.body === undefined) {
      res.statusCode = 304
      res.end()
      return true
    }
    res.statusCode = 200
    res.setHeader('Content-Type', CONTENT_TYPE[format])
    res.setHeader('Content-Length', Buffer.byteLength(read.body))
    res.end(read.body)
    return true
  }

  // Restore: a version of the document as it is first (restoring that one undoes the restore),
  // then the difference to the old version, through the update path like any edit: stored
  // before it is relayed, so every editor, on every server, sees it as a normal change. Not
  // conditional: edits made meanwhile stay on top of it, as they would on top of a PUT.
  const result = await deps.locks.run(room, () =>
    withRoom(deps, room, async (r) => {
      const before = await history.take(r, 'before-restore')
      const plan = await deps.converter.restore(await r.encodeState(), version.state)
      if (plan.invalid !== undefined) throw new ApiError(500, 'internal', plan.invalid)
      // The row carries the webhook event `document.restored` (written with it, in its transaction).
      const event: RowEvent = { type: 'document.restored', data: { version: id, before: before.id } }
      // With the marker that makes editors drop their undo stacks (history/restore-marker.ts).
      const update = plan.update ? withRestoreMarker(plan.update, { version: id, before: before.id, at: before.at }) : undefined
      const seq = update ? await submitUpdate(r, update, undefined, deps.writers.get(req), event) : undefined
      return { before, changed: seq !== undefined, etag: plan.etagAfter }
    }),
  )
  sendJson(res, 200, { room, restored: id, changed: result.changed, before: describe(result.before) })
  return true
}

async function withRoom<T>(deps: ApiDeps, name: string, fn: (room: Room) => Promise<T>): Promise<T> {
  const room = await deps.registry.acquire(name)
  try {
    return await fn(room)
  } finally {
    deps.registry.release(room)
  }
}

/** `{"name": "…"}`: 1-200 characters once trimmed; with `nullable`, null too (no name). */
async function readName(deps: ApiDeps, req: IncomingMessage, res: ServerResponse, nullable: boolean): Promise<string | null> {
  if (mediaType(req) !== 'application/json') {
    throw new ApiError(415, 'unsupported-media-type', 'Content-Type must be application/json', { Accept: 'application/json' })
  }
  const body = utf8(await readBody(req, res, Math.min(MAX_NAME_BODY, deps.maxPayloadBytes)))
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    throw new ApiError(400, 'bad-json', 'the body is not JSON')
  }
  const name = typeof parsed === 'object' && parsed !== null ? (parsed as { name?: unknown }).name : undefined
  if (name === null && nullable) return null
  if (typeof name !== 'string' || name.trim() === '' || [...name.trim()].length > MAX_NAME_CHARS) {
    throw new ApiError(400, 'bad-name', `name must be a string of 1 to ${MAX_NAME_CHARS} characters${nullable ? ', or null' : ''}`)
  }
  return name.trim()
}

function intParam(url: URL, name: string, fallback: number, max: number): number {
  const raw = url.searchParams.get(name)
  const n = raw === null ? fallback : Number(raw)
  if (!Number.isInteger(n) || n < 1 || n > max) throw new ApiError(400, `bad-${name}`, `${name} must be an integer from 1 to ${max}`)
  return n
}

/**
 * Whether a version's authors are exactly who changed the document since `older`, the version
 * listed before it: retention only removes versions older than `keepAllMs`, so when `older` is
 * younger than that, no version between the two was removed (whose authors would be missing).
 */
const authorsExact = (older: VersionMeta | undefined, keptAllSince: number) => older !== undefined && older.at >= keptAllSince

const notFound = (id: number) => new ApiError(404, 'no-such-version', `version ${id} does not exist (or retention removed it)`)

/** A version as the API shows it. */
function describe(v: VersionMeta) {
  return { id: v.id, time: new Date(v.at).toISOString(), name: v.name, kind: v.kind, authors: v.authors, size: v.size }
}
