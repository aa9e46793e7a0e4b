import { crc32, deflateSync } from 'node:zlib'

/**
 * Images for the upload tests, built here byte by byte: a real PNG (any size, one colour), and
 * the smallest well-formed GIF, WebP, JPEG and AVIF files the sniffer must accept.
 */

export function png(width: number, height: number, rgba: [number, number, number, number] = [200, 30, 30, 255]): Buffer {
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => rgba).flat())])
  return pngOf(width, height, Buffer.concat(Array.from({ length: height }, () => row)))
}

/** A PNG of random-looking pixels from `seed`: deflate cannot shrink it, and each seed is another file. */
export function noisyPng(width: number, height: number, seed: number): Buffer {
  let x = (seed * 2654435761 + 1) >>> 0
  const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), x >>> 24)
  const raw = Buffer.concat(Array.from({ length: height }, () => Buffer.from([0, ...Array.from({ length: width * 4 }, next)])))
  return pngOf(width, height, raw)
}

/** Signature, IHDR (8-bit RGBA), one IDAT of the filtered rows `raw`, IEND. */
function pngOf(width: number, height: number, raw: Buffer): Buffer {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 6 // RGBA
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))])
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}

/** A PNG header claiming `width`×`height` with almost no data (a decompression bomb's header). */
export function pngHeaderOnly(width: number, height: number): Buffer {
  const p = png(1, 1)
  p.writeUInt32BE(width, 16)
  p.writeUInt32BE(height, 20)
  return p
}

export const gif = (): Buffer => Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64')

/** 1×1 lossless WebP. */
export const webp = (): Buffer => Buffer.from('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==', 'base64')

/** SOI, APP0, SOF0 (3×2), SOS, a few bytes of scan data, EOI. */
export function jpeg(): Buffer {
  const app0 = [0xff, 0xe0, 0x00, 0x10, ...Buffer.from('JFIF\0'), 1, 1, 0, 0, 1, 0, 1, 0, 0]
  const sof0 = [0xff, 0xc0, 0x00, 0x11, 8, 0x00, 0x02, 0x00, 0x03, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]
  const sos = [0xff, 0xda, 0x00, 0x0c, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 0x3f, 0]
  return Buffer.from([0xff, 0xd8, ...app0, ...sof0, ...sos, 0x12, 0x34, 0x56, 0xff, 0xd9])
}

/** ftyp (avif), meta holding an ispe of 640×480, mdat. */
export function avif(): Buffer {
  const box = (type: string, ...parts: Buffer[]) => {
    const body = Buffer.concat(parts)
    const head = Buffer.alloc(8)
    head.writeUInt32BE(8 + body.length)
    head.write(type, 4, 'ascii')
    return Buffer.concat([head, body])
  }
  const u32 = (n: number) => {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(n)
    return b
  }
  const ftyp = box('ftyp', Buffer.from('avif'), u32(0), Buffer.from('avifmif1miaf'))
  const ispe = box('ispe', u32(0), u32(640), u32(480))
  const meta = box('meta', u32(0), box('iprp', box('ipco', ispe)))
  return Buffer.concat([ftyp, meta, box('mdat', Buffer.alloc(16, 7))])
}
