import { describe, expect, it } from 'vitest'
import { MAX_PIXELS, sniffImage } from '../../src/api/image-sniff.js'
import { avif, gif, jpeg, png, pngHeaderOnly, webp } from './images.js'

/** The upload's type comes from its bytes alone, and only well-formed images of five formats pass. */
describe('sniffImage', () => {
  it('knows PNG, JPEG, GIF, WebP and AVIF, with their size', () => {
    expect(sniffImage(png(7, 5))).toEqual({ ok: true, type: 'image/png', width: 7, height: 5 })
    expect(sniffImage(jpeg())).toEqual({ ok: true, type: 'image/jpeg', width: 3, height: 2 })
    expect(sniffImage(gif())).toEqual({ ok: true, type: 'image/gif', width: 1, height: 1 })
    expect(sniffImage(webp())).toEqual({ ok: true, type: 'image/webp', width: 1, height: 1 })
    expect(sniffImage(avif())).toEqual({ ok: true, type: 'image/avif', width: 640, height: 480 })
  })

  it('refuses SVG (script), text, HTML and empty bodies, whatever they claim', () => {
    const svg = '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    expect(sniffImage(Buffer.from(svg))).toMatchObject({ ok: false, reason: 'svg' })
    expect(sniffImage(Buffer.from('\uFEFF  <svg onload="alert(1)"/>'))).toMatchObject({ ok: false, reason: 'svg' })
    for (const other of ['<html><script>alert(1)</script></html>', 'just text', '', 'GIF8', 'RIFF\0\0\0\0WAVE']) {
      expect(sniffImage(Buffer.from(other)), other).toMatchObject({ ok: false, reason: 'not-an-image' })
    }
  })

  it('refuses a truncated image, or one with something appended, of every format', () => {
    for (const [name, file] of Object.entries({ png: png(4, 4), jpeg: jpeg(), gif: gif(), webp: webp(), avif: avif() })) {
      for (const cut of [file.subarray(0, file.length - 1), file.subarray(0, Math.ceil(file.length / 2)), file.subarray(0, 12)]) {
        expect(sniffImage(cut), `${name} cut to ${cut.length}`).toMatchObject({ ok: false })
      }
      expect(sniffImage(Buffer.concat([file, Buffer.from('<script>')])), `${name} + tail`).toMatchObject({ ok: false, reason: 'malformed' })
    }
    // A PNG whose chunk length points past the end.
    const bad = png(2, 2)
    bad.writeUInt32BE(0x7fffffff, 33)
    expect(sniffImage(bad)).toMatchObject({ ok: false, reason: 'malformed' })
  })

  it('refuses a header that asks for more pixels than MAX_PIXELS (a decompression bomb), and an image of no pixels', () => {
    const bomb = sniffImage(pngHeaderOnly(100_000, 100_000))
    expect(bomb).toMatchObject({ ok: false, reason: 'malformed' })
    expect(!bomb.ok && bomb.message).toContain(String(MAX_PIXELS))
    expect(sniffImage(pngHeaderOnly(0, 10))).toMatchObject({ ok: false, reason: 'malformed' })
  })
})
