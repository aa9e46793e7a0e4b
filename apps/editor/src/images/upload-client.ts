import { isSafeImageSrc } from '@tandem/schema'

/**
 * The server's upload endpoint as the editor uses it (README "API", POST and GET
 * /api/rooms/<room>/uploads): sends a file, turns the server's refusals into sentences for the
 * person who dropped it, and turns the document's image path into an address the browser can
 * load, with the reader's token as `?token=` (an <img> cannot send a header). The token is added
 * only here, at render time: the shared document never holds a credential.
 */

export type TokenSource = string | (() => string | Promise<string>) | undefined

export interface UploadClient {
  /** Uploads the file; resolves with the path the document stores, or rejects with an UploadRefused. */
  upload(file: Blob): Promise<string>
  /** The address to load the image at `path` (a document's src) from; undefined for anything that is not an upload. */
  srcFor(path: unknown): Promise<string | undefined>
}

/** Why an upload failed, worded for the person who tried it. */
export class UploadRefused extends Error {
  override readonly name = 'UploadRefused'
}

/** `ws(s)://host[/prefix]` (the first, with several) → `http(s)://host[/prefix]`. */
function httpBase(url: string | string[]): string {
  const first = Array.isArray(url) ? url[0]! : url
  return first.replace(/^ws(s?):\/\//i, 'http$1://').replace(/\/+$/, '')
}

const ACCEPTED = 'PNG, JPEG, GIF, WebP or AVIF'

export function createUploadClient(url: string | string[], room: string, token: TokenSource): UploadClient {
  const base = httpBase(url)
  const currentToken = async () => (typeof token === 'function' ? await token() : token)
  return {
    async upload(file) {
      if (file.type && !file.type.startsWith('image/')) throw new UploadRefused(`Only images can be added (${ACCEPTED}).`)
      if (file.type === 'image/svg+xml') throw new UploadRefused(`SVG images cannot be added (they can carry scripts). Use ${ACCEPTED}.`)
      const t = await currentToken()
      let res: Response
      try {
        res = await fetch(`${base}/api/rooms/${encodeURIComponent(room)}/uploads`, {
          method: 'POST',
          body: file,
          headers: { 'Content-Type': file.type || 'application/octet-stream', ...(t ? { Authorization: `Bearer ${t}` } : {}) },
        })
      } catch {
        throw new UploadRefused('The image could not be uploaded: the server cannot be reached.')
      }
      const body = (await res.json().catch(() => ({}))) as { url?: unknown; error?: unknown }
      if (res.ok && isSafeImageSrc(body.url)) return body.url
      throw new UploadRefused(refusal(res.status, typeof body.error === 'string' ? body.error : ''))
    },
    async srcFor(path) {
      if (!isSafeImageSrc(path)) return undefined
      const t = await currentToken()
      return t ? `${base}${path}?token=${encodeURIComponent(t)}` : `${base}${path}`
    },
  }
}

function refusal(status: number, error: string): string {
  switch (status) {
    case 413:
      return 'This image is too large for the server.'
    case 415:
      return error === 'svg-not-allowed' ? `SVG images cannot be added (they can carry scripts). Use ${ACCEPTED}.` : `This file is not an image the server accepts (${ACCEPTED}).`
    case 400:
      return 'This image file is damaged or incomplete.'
    case 507:
      return 'This document has no room for more images.'
    case 401:
    case 403:
      return 'You may not add images to this document.'
    default:
      return `The image could not be uploaded (HTTP ${status}).`
  }
}
