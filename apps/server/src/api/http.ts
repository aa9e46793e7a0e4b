import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * HTTP plumbing of the API: bounded bodies, JSON answers, errors as `{ error, message }`, entity
 * tags in precondition headers.
 */

/** An answer other than success: its status, a short machine-readable label, a sentence. */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    /** extra headers (Allow on 405, …) */
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Cache-Control', 'no-store')
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v)
  res.end(JSON.stringify(body))
}

export function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, { error: err.error, message: err.message }, err.headers)
}

/**
 * The request body, at most `limit` bytes (MAX_PAYLOAD_BYTES, as for a WebSocket frame). A larger
 * one is refused with 413 as soon as it is known to be larger (Content-Length, or the bytes so
 * far), without buffering the rest; the connection is then closed, since the unread remainder
 * would otherwise be taken for the next request.
 */
export async function readBody(req: IncomingMessage, res: ServerResponse, limit: number, setting = 'MAX_PAYLOAD_BYTES'): Promise<Buffer> {
  const tooLarge = () => {
    res.setHeader('Connection', 'close')
    req.pause()
    return new ApiError(413, 'too-large', `the body is larger than ${limit} bytes (${setting})`)
  }
  const declared = Number(req.headers['content-length'] ?? NaN)
  if (declared > limit) throw tooLarge()
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw tooLarge()
    chunks.push(chunk)
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
}

/** The media type of a request, lower-case, without parameters ('' when absent). */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
}

/** The body as UTF-8 text; bytes that are not UTF-8 are a 400, not replacement characters. */
export function utf8(body: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body)
  } catch {
    throw new ApiError(400, 'invalid-encoding', 'the body is not UTF-8')
  }
}

/**
 * The entity tags of an If-Match / If-None-Match header: '*', or a list (weak tags keep their
 * W/ prefix, so a strong comparison never matches them). undefined when the header is absent.
 */
export function etagList(header: string | string[] | undefined): '*' | string[] | undefined {
  if (header === undefined) return undefined
  const value = Array.isArray(header) ? header.join(',') : header
  if (value.trim() === '*') return '*'
  return value.match(/(?:W\/)?"[^"]*"/g) ?? []
}

/** If-None-Match on a read: weak comparison (W/ ignored). */
