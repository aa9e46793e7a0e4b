/**
 * What an uploaded file is, from its bytes alone (the client's Content-Type and file name are
 * claims): PNG, JPEG, GIF, WebP or AVIF, with the size in pixels where the header says it. The
 * file's structure is walked to its end (chunks, segments, boxes: a few hundred steps for a real
 * image, each bounded by the bytes left), so a truncated file or one with something appended is
 * refused rather than stored and shown broken to everyone. SVG is refused: it is a document that
 * can carry script. Nothing is decoded: the pixels are the browser's business.
 */

export type Sniffed =
  | { ok: true; type: ImageType; width: number | null; height: number | null }
  | { ok: false; reason: 'not-an-image' | 'svg' | 'malformed'; message: string }

type ImageType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp' | 'image/avif'

/** Width × height beyond this is refused: a few KB of PNG can ask every reader's browser for gigabytes. */
export const MAX_PIXELS = 50_000_000

export function sniffImage(b: Uint8Array): Sniffed {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const at = (offset: number, s: string) => ascii(b, offset, s)
  let found: { type: ImageType; size: Size | 'malformed' } | undefined
  if (b.length >= 8 && view.getUint32(0) === 0x89504e47 && view.getUint32(4) === 0x0d0a1a0a) found = { type: 'image/png', size: png(b, view) }
  else if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) found = { type: 'image/jpeg', size: jpeg(b, view) }
  else if (at(0, 'GIF87a') || at(0, 'GIF89a')) found = { type: 'image/gif', size: gif(b, view) }
  else if (at(0, 'RIFF') && at(8, 'WEBP')) found = { type: 'image/webp', size: webp(b, view) }
  else if (at(4, 'ftyp') && isAvif(b, view)) found = { type: 'image/avif', size: avif(b, view) }
  if (!found) {
    if (looksLikeSvg(b)) return { ok: false, reason: 'svg', message: 'SVG images are not accepted (an SVG file can carry scripts); upload a PNG, JPEG, GIF, WebP or AVIF' }
    return { ok: false, reason: 'not-an-image', message: 'the file is not an image this server accepts (PNG, JPEG, GIF, WebP or AVIF)' }
  }
  const name = found.type.slice(6).toUpperCase()
  if (found.size === 'malformed') return { ok: false, reason: 'malformed', message: `the file starts like a ${name} image but is truncated or malformed` }
  const { width, height } = found.size
  if (width !== null && height !== null) {
    if (width === 0 || height === 0) return { ok: false, reason: 'malformed', message: `the ${name} image has no pixels (${width}×${height})` }
    if (width * height > MAX_PIXELS) return { ok: false, reason: 'malformed', message: `the ${name} image is ${width}×${height} pixels; at most ${MAX_PIXELS} pixels are accepted` }
  }
  return { ok: true, type: found.type, width, height }
}

interface Size {
  width: number | null
  height: number | null
}

/** Chunks (length, type, data, CRC) from IHDR to IEND, which must end the file. */
function png(b: Uint8Array, v: DataView): Size | 'malformed' {
  if (b.length < 33 || v.getUint32(8) !== 13 || !ascii(b, 12, 'IHDR')) return 'malformed'
  const size = { width: v.getUint32(16), height: v.getUint32(20) }
  let p = 8
  while (p + 12 <= b.length) {
    const len = v.getUint32(p)
    const end = p + 12 + len
    if (end > b.length) return 'malformed'
    if (ascii(b, p + 4, 'IEND')) return end === b.length ? size : 'malformed'
    p = end
  }
  return 'malformed'
}

/** Segments up to the first SOF (the size); the file must end with EOI. */
function jpeg(b: Uint8Array, v: DataView): Size | 'malformed' {
  let end = b.length
  while (end > 2 && b[end - 1] === 0) end-- // some writers pad after EOI
  if (end < 4 || b[end - 2] !== 0xff || b[end - 1] !== 0xd9) return 'malformed'
  let p = 2
  while (p + 4 <= end) {
    if (b[p] !== 0xff) return 'malformed'
    const marker = b[p + 1]!
    if (marker === 0xff) {
      p++ // fill byte
      continue
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += 2
      continue
    }
    const len = v.getUint16(p + 2)
    if (len < 2 || p + 2 + len > end) return 'malformed'
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
    if (isSof) return len >= 7 ? { height: v.getUint16(p + 5), width: v.getUint16(p + 7) } : 'malformed'
    if (marker === 0xda) return 'malformed' // scan data before any frame header
    p += 2 + len
  }
  return 'malformed'
}

/** The logical screen's size; the file must end with the trailer byte. */
function gif(b: Uint8Array, v: DataView): Size | 'malformed' {
  if (b.length < 14 || b[b.length - 1] !== 0x3b) return 'malformed'
  return { width: v.getUint16(6, true), height: v.getUint16(8, true) }
}

/** RIFF: its length field must be the file's; the first chunk (VP8, VP8L or VP8X) gives the size. */
function webp(b: Uint8Array, v: DataView): Size | 'malformed' {
  if (b.length < 30 || v.getUint32(4, true) + 8 !== b.length) return 'malformed'
  if (ascii(b, 12, 'VP8 ')) {
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return 'malformed'
    return { width: v.getUint16(26, true) & 0x3fff, height: v.getUint16(28, true) & 0x3fff }
  }
  if (ascii(b, 12, 'VP8L')) {
    if (b[20] !== 0x2f) return 'malformed'
    const bits = v.getUint32(21, true)
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 }
  }
  if (ascii(b, 12, 'VP8X')) {
    const u24 = (o: number) => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)
    return { width: u24(24) + 1, height: u24(27) + 1 }
  }
  return 'malformed'
}

/** ISO-BMFF with an AVIF brand (major, or among the compatible ones). */
function isAvif(b: Uint8Array, v: DataView): boolean {
  const size = v.getUint32(0)
  if (size < 16 || size > b.length || size > 4096) return false
  for (let p = 8; p + 4 <= size; p += 4) {
    if (p === 12) continue // minor version
    if (ascii(b, p, 'avif') || ascii(b, p, 'avis')) return true
  }
  return false
}

/** Top-level boxes must tile the file exactly; the size is the first `ispe` (image spatial extent) in `meta`. */
function avif(b: Uint8Array, v: DataView): Size | 'malformed' {
  let p = 0
  let size: Size = { width: null, height: null }
  while (p < b.length) {
    if (p + 8 > b.length) return 'malformed'
    let len = v.getUint32(p)
    let header = 8
    if (len === 1) {
      if (p + 16 > b.length) return 'malformed'
      const big = v.getBigUint64(p + 8)
      if (big > BigInt(b.length)) return 'malformed'
      len = Number(big)
      header = 16
    } else if (len === 0) len = b.length - p
    if (len < header || p + len > b.length) return 'malformed'
    if (ascii(b, p + 4, 'meta')) size = ispe(b, v, p + header, p + len) ?? size
    p += len
  }
  return size
}

/** How far into `meta` the size is looked for: real files have it in the first few hundred bytes. */
const MAX_META_SCAN = 64 * 1024

function ispe(b: Uint8Array, v: DataView, from: number, to: number): Size | undefined {
  // The property is nested a few boxes deep (meta > iprp > ipco > ispe); its 4-byte tag is distinctive.
  for (let p = from + 4, end = Math.min(to, from + MAX_META_SCAN); p + 16 <= end; p++) {
    if (ascii(b, p, 'ispe') && v.getUint32(p - 4) >= 20) return { width: v.getUint32(p + 8), height: v.getUint32(p + 12) }
  }
  return undefined
}

/** Markup that starts like SVG (after a BOM, blanks, an XML declaration, comments or a doctype). */
function looksLikeSvg(b: Uint8Array): boolean {
  const head = new TextDecoder('utf-8', { fatal: false }).decode(b.subarray(0, 1024)).replace(/^\uFEFF/, '').trimStart().toLowerCase()
  return head.startsWith('<svg') || ((head.startsWith('<?xml') || head.startsWith('<!--') || head.startsWith('<!doctype svg')) && head.includes('<svg'))
}

const ascii = (b: Uint8Array, offset: number, s: string) => offset + s.length <= b.length && [...s].every((c, i) => b[offset + i] === c.charCodeAt(0))
