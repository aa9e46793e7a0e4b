import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Room } from '../room/room.js'
import { CONTENT_TYPE, FORMATS, type Format, type InputFormat } from '../content/format-names.js'
import { InvalidContent } from '../content/errors.js'
import { ApiError, etagList, mediaType, readBody, sendJson, utf8 } from './http.js'
import { submitUpdate } from './writes.js'
import type { ApiDeps } from './deps.js'

/**
 * GET, PUT and POST /api/rooms/<room>/content: the document as ProseMirror JSON, Markdown, HTML
 * or plain text; a replacement or an addition, applied through the update path. Loaded on the
 * first such request (routes.ts): Tiptap, happy-dom and marked cost a server that never serves
 * content ~0.7 s of start-up and ~40 MB.
 */

const INPUT: Record<string, InputFormat> = {
  'application/json': 'json',
  'text/markdown': 'markdown',
  'text/html': 'html',
}

export async function getContent(deps: ApiDeps, req: IncomingMessage, res: ServerResponse, url: URL, room: Room): Promise<void> {
  const format = (url.searchParams.get('format') ?? 'json') as Format
  if (!FORMATS.includes(format)) throw new ApiError(400, 'bad-format', `format must be one of ${FORMATS.join(', ')}`)
  // Only what is stored (the room's document waits while a commit is in flight); converted off
  // the event loop (content/converter.ts).
  const read = await deps.converter.read(await room.encodeState(), format, etagList(req.headers['if-none-match']))
  res.setHeader('ETag', read.etag)
  // Revalidate every time: the document changes under any cached copy.
  res.setHeader('Cache-Control', 'no-cache')
  if (read.body === undefined) {
    res.statusCode = 304
    res.end()
    return
  }
  res.statusCode = 200
  res.setHeader('Content-Type', CONTENT_TYPE[format])
  res.setHeader('Content-Length', Buffer.byteLength(read.body))
  res.end(read.body)
}

/**
 * PUT (replace) or POST (append). Preconditions: `If-None-Match: *` writes only into an empty
 * document (201), `If-Match: <etag>` only while the document is at that tag; 412 otherwise, with
 * nothing written. The check and the write are one step: on this server no other API write of
 * the room comes between them (the room lock), and the row is stored only if the room's last seq
 * is still the one read before the check (the store decides, for client edits and other servers).
 */
export async function writeContent(deps: ApiDeps, req: IncomingMessage, res: ServerResponse, roomName: string, mode: 'replace' | 'append'): Promise<void> {
  const type = mediaType(req)
  const format = INPUT[type]
  if (!format) {
    throw new ApiError(415, 'unsupported-media-type', `Content-Type must be one of ${Object.keys(INPUT).join(', ')}`, { Accept: Object.keys(INPUT).join(', ') })
  }
  const ifNoneMatch = etagList(req.headers['if-none-match'])
  const ifMatch = etagList(req.headers['if-match'])
  if (ifNoneMatch !== undefined && ifNoneMatch !== '*') {
    throw new ApiError(400, 'bad-precondition', 'a write takes If-None-Match: * only (write into an empty document)')
  }
  const body = utf8(await readBody(req, res, deps.maxPayloadBytes))
  const conditional = ifNoneMatch !== undefined || ifMatch !== undefined

  const result = await deps.locks.run(roomName, async () => {
    const room = await deps.registry.acquire(roomName)
    try {
      let expect: number | undefined
      if (conditional) {
        // The seq first, then the document: the document then holds at least every row through
        // it, so a row the check did not see makes the store refuse the write.
        expect = await deps.store.lastSeq(roomName)
        if (deps.fanout.kind !== 'local') await room.catchUpFromStore() // rows another server stored, not yet relayed here
      }
      // Parsed, checked against the schema (a 400 changes nothing) and diffed off the event loop.
      const plan = await deps.converter.plan(await room.encodeState(), body, format, mode)
      if (plan.invalid !== undefined) throw new InvalidContent(plan.invalid)
      if (ifNoneMatch === '*' && !plan.wasEmpty) throw precondition('the document is not empty')
      if (ifMatch !== undefined && !(ifMatch === '*' ? !plan.wasEmpty : ifMatch.includes(plan.etagBefore))) {
        throw precondition('the document changed: its entity tag is not the one given')
      }
      if (!plan.update) return { changed: false, etag: plan.etagAfter }
      // Version history: what a replacement overwrites can be restored (an empty document has nothing to keep).
      if (mode === 'replace' && !plan.wasEmpty) await deps.history?.take(room, 'before-replace')
      const seq = await submitUpdate(room, plan.update, expect, deps.writers.get(req))
      if (seq === 0) throw precondition('the document changed while the write was being stored')
      return { changed: seq !== undefined, etag: plan.etagAfter }
    } finally {
      deps.registry.release(room)
    }
  })
  // The tag after the write is known only when nothing could come between (a conditional write).
  const headers: Record<string, string> = conditional ? { ETag: result.etag } : {}
  sendJson(res, ifNoneMatch === '*' && result.changed ? 201 : 200, { room: roomName, changed: result.changed }, headers)
}

const precondition = (message: string) => new ApiError(412, 'precondition-failed', `${message}; nothing was written`)
