import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { uploadPath } from '@tandem/schema'
import type { Access } from '../net/upgrade.js'
import { ApiError, etagList, mediaType, readBody, sendJson } from './http.js'
import { sniffImage } from './image-sniff.js'
import type { ApiDeps } from './deps.js'

/**
 * Images of a room's document (README "API", docs/security.md "Uploads"):
 *
 *   POST /api/rooms/<room>/uploads        the raw bytes of one image → 201 { id, url, type, bytes, width, height }
 *   GET  /api/rooms/<room>/uploads/<id>   the image
 *
 * POST needs `access: "write"`, GET a token for the room (as the content API). A browser's <img>
 * cannot send a header: the editor adds its token as `?token=` when it renders the image (the
 * document holds only the path). The body is at most MAX_UPLOAD_BYTES (413 as soon as more
 * arrives, the rest unread), its type is sniffed from the bytes (image-sniff.ts: 415 for anything
 * but PNG, JPEG, GIF, WebP, AVIF; SVG included), and a room's uploads together stay within
 * MAX_ROOM_UPLOAD_BYTES (507). The id is the SHA-256 of the bytes: the same image twice is stored
 * once (200 the second time).
 */

const PATH = /^\/api\/rooms\/([^/]+)\/uploads(?:\/([^/]*))?$/
const ID = /^[0-9a-f]{64}$/

export interface UploadRouteContext {
  authorize(req: IncomingMessage, url: URL, room: string, need: Access): Promise<void>
  roomName(segment: string): string
}

/** Answers a request under /api/rooms/<room>/uploads; false for any other path. */
export async function uploadRoutes(deps: ApiDeps, ctx: UploadRouteContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
  const m = PATH.exec(url.pathname)
  if (!m) return false
  const room = ctx.roomName(m[1]!)
  const id = m[2]
  const method = req.method ?? 'GET'
  const allowed = id === undefined ? ['POST'] : ['GET', 'HEAD']
  if (!allowed.includes(method)) throw new ApiError(405, 'method-not-allowed', `${method} is not allowed here`, { Allow: allowed.join(', ') })
  await ctx.authorize(req, url, room, method === 'POST' ? 'write' : 'read')
  const uploads = deps.store.uploads
  if (!uploads) throw new ApiError(501, 'uploads-unavailable', 'this store keeps no uploads')

  if (id === undefined) {
    if (deps.maxRoomUploadBytes === 0) throw new ApiError(403, 'uploads-disabled', 'uploads are turned off on this server (MAX_ROOM_UPLOAD_BYTES=0)')
    // Only types a page on another site cannot send without a CORS preflight (which this server
    // never grants): not text/plain, form encodings or multipart, so no cross-site form can upload
    // with the browser's credentials (a library hook's cookie). What the bytes are is sniffed below.
    const declared = mediaType(req)
    if (declared !== 'application/octet-stream' && !declared.startsWith('image/')) {
      throw new ApiError(415, 'unsupported-media-type', 'Content-Type must be image/* or application/octet-stream (the raw bytes of the image)', { Accept: ACCEPTED })
    }
    const body = await readBody(req, res, deps.maxUploadBytes, 'MAX_UPLOAD_BYTES')
    const sniffed = sniffImage(body)
    if (!sniffed.ok) {
      if (sniffed.reason === 'malformed') throw new ApiError(400, 'invalid-image', sniffed.message)
      throw new ApiError(415, sniffed.reason === 'svg' ? 'svg-not-allowed' : 'not-an-image', sniffed.message, { Accept: ACCEPTED })
    }
    const upload = {
      id: createHash('sha256').update(body).digest('hex'),
      type: sniffed.type,
      bytes: body.byteLength,
      width: sniffed.width,
      height: sniffed.height,
      data: body,
    }
    const put = await uploads.put(room, upload, deps.maxRoomUploadBytes)
    if (!put.stored) {
      throw new ApiError(
        507,
        'upload-quota',
        `the room's uploads would take more than ${deps.maxRoomUploadBytes} bytes (MAX_ROOM_UPLOAD_BYTES; ${put.usedBytes} used)`,
      )
    }
    const url = uploadPath(room, put.meta.id)
    sendJson(res, put.created ? 201 : 200, { ...put.meta, url }, { Location: url })
    return true
  }

  if (!ID.test(id)) throw notFound()
  const etag = `"${id}"`
  const match = etagList(req.headers['if-none-match'])
  // The id is the content's hash: a tag that names it is this very file. Still authorized first (above).
  if (match === '*' || match?.some((t) => t.replace(/^W\//, '') === etag)) {
    res.statusCode = 304
    res.setHeader('ETag', etag)
    res.setHeader('Cache-Control', CACHE)
    res.end()
    return true
  }
  const found = await uploads.get(room, id)
  if (!found) throw notFound()
  res.statusCode = 200
  res.setHeader('Content-Type', found.type)
  res.setHeader('Content-Length', found.data.byteLength)
  res.setHeader('ETag', etag)
  res.setHeader('Cache-Control', CACHE)
  // Shown as an image, never as a document of this origin: no sniffing into HTML, and should a
  // browser render it as a document anyway (opened in a tab), nothing in it may load or run.
  res.setHeader('X-Content-Type-Options', 'nosniff')
  res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox")
  res.setHeader('Content-Disposition', 'inline')
  res.end(found.data)
  return true
}

const ACCEPTED = 'image/png, image/jpeg, image/gif, image/webp, image/avif'

/**
 * The bytes under an id never change (it is their hash), so the browser may keep them for a
 * year without asking again; `private`: it was handed out against a token, so shared caches
 * (a CDN, a proxy) must not serve it to anyone else. After the room is deleted a browser that
 * already holds the image may still show it from its own cache.
 */
const CACHE = 'private, max-age=31536000, immutable'

const notFound = () => new ApiError(404, 'no-such-upload', 'this room holds no upload with that id')
