import { createHmac } from 'node:crypto'
import { crc32, deflateSync } from 'node:zlib'
import AxeBuilder from '@axe-core/playwright'
import type { Locator, Page } from '@playwright/test'
import { test, expect, editor, TandemServer } from '../fixtures.js'

/**
 * Images: picked with the toolbar's Image button, pasted or refused, uploaded to the server
 * (POST /api/rooms/<room>/uploads) and shown in every tab; alt text and width are attributes of
 * the shared node, so they sync too. The file bytes are real PNGs built here.
 */

/** A real PNG of one colour. */
function png(width: number, height: number, rgb: [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([len, body, crc])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8
  ihdr[9] = 2 // RGB
  const row = Buffer.from([0, ...Array.from({ length: width }, () => rgb).flat()])
  const raw = Buffer.concat(Array.from({ length: height }, () => row))
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))])
}

/** Width in pixels of every image under `root`, once loaded (0 while loading or broken). */
const loadedWidths = (root: Locator) => root.evaluate((el) => [...el.querySelectorAll<HTMLImageElement>('img.tandem-image')].map((img) => (img.complete ? img.naturalWidth : 0)))

/** Picks `file` through the toolbar's Image button under `scope`. */
async function pick(page: Page, scope: Locator, file: { name: string; mimeType: string; buffer: Buffer }): Promise<void> {
  const chooser = page.waitForEvent('filechooser')
  await scope.getByRole('button', { name: 'Insert image' }).click()
  await (await chooser).setFiles(file)
}

/** The document's images as the server's content API returns them. */
async function serverImages(server: TandemServer, room: string): Promise<Array<{ src: string; alt: string; width: number | null }>> {
  const res = await fetch(`${server.url}/api/rooms/${encodeURIComponent(room)}/content`)
  const found: Array<{ src: string; alt: string; width: number | null }> = []
  const walk = (n: { type?: string; attrs?: Record<string, unknown>; content?: unknown[] }) => {
    if (n.type === 'image') found.push(n.attrs as { src: string; alt: string; width: number | null })
    for (const c of n.content ?? []) walk(c as typeof n)
  }
  walk((await res.json()) as Parameters<typeof walk>[0])
  return found
}

test('images: picked, pasted and dropped images upload and show in both tabs; alt text and width sync; a file that is not an image is refused with a message', async ({ openEditor, room, server }) => {
  test.slow()
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  const pmA = editor(a)
  const pmB = editor(b)
  await pmA.click()
  await a.keyboard.type('Red: ')

  // The toolbar's Image button: a file picker.
  await pick(a, a.locator('.tandem-toolbar'), { name: 'red.png', mimeType: 'image/png', buffer: png(40, 20, [220, 30, 30]) })
  await expect.poll(() => loadedWidths(pmB)).toEqual([40])
  await expect.poll(() => loadedWidths(pmA)).toEqual([40])

  // A paste of an image file (what copying an image puts on the clipboard).
  const blue = [...png(30, 30, [30, 30, 220])]
  await pmA.evaluate((el, bytes) => {
    const dt = new DataTransfer()
    dt.items.add(new File([new Uint8Array(bytes)], 'blue.png', { type: 'image/png' }))
    el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }))
  }, blue)
  await expect.poll(() => loadedWidths(pmB)).toEqual([40, 30])

  // A drop of an image file from the desktop, on the text after the images.
  const green = [...png(16, 16, [30, 160, 60])]
  await pmA.evaluate((el, bytes) => {
    const dt = new DataTransfer()
    dt.items.add(new File([new Uint8Array(bytes)], 'green.png', { type: 'image/png' }))
    const r = el.querySelector('p')!.getBoundingClientRect()
    el.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, clientX: r.right - 2, clientY: r.top + r.height / 2, bubbles: true, cancelable: true }))
  }, green)
  await expect.poll(() => loadedWidths(pmB)).toEqual([40, 30, 16])

  // Alt text: select the image, type it in the box, Enter.
  await pmA.locator('img.tandem-image').first().click()
  const box = a.getByTestId('image-popover')
  await expect(box).toBeVisible()
  const alt = box.getByRole('textbox', { name: 'Alt text (image description)' })
  await alt.fill('A red rectangle')
  await alt.press('Enter')
  await expect(pmB.locator('img.tandem-image').first()).toHaveAttribute('alt', 'A red rectangle')
  // Width: a share of the column, the same in every tab.
  await pmA.locator('img.tandem-image').first().click()
  await box.getByRole('button', { name: 'Width: 50% of the column' }).click()
  await expect(box.getByRole('button', { name: 'Width: 50% of the column' })).toHaveAttribute('aria-pressed', 'true')
  await expect(pmB.locator('img.tandem-image').first()).toHaveAttribute('style', /width: 50%/)
  const column = await pmB.evaluate((el) => el.querySelector('p')!.getBoundingClientRect().width)
  const shown = await pmB.locator('img.tandem-image').first().evaluate((el) => el.getBoundingClientRect().width)
  expect(Math.abs(shown - column / 2)).toBeLessThan(2)

  // The document holds the path of the upload, never a token; the content API keeps both images.
  const images = await serverImages(server, room)
  expect(images.map((i) => [i.alt, i.width])).toEqual([['A red rectangle', 50], ['', null], ['', null]])
  for (const i of images) expect(i.src).toMatch(/^\/api\/rooms\/[^/]+\/uploads\/[0-9a-f]{64}$/)

  // Not an image, although named and typed as one: the server refuses it, the editor says so.
  await pmA.click()
  await pick(a, a.locator('.tandem-toolbar'), { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('these are my notes, not a picture') })
  await expect(a.getByTestId('image-notice')).toContainText('not an image')
  await expect(a.getByRole('alert').filter({ hasText: 'not an image' })).toBeVisible()
  await expect(a.locator('.tandem-image-uploading')).toHaveCount(0)
  expect(await loadedWidths(pmB)).toEqual([40, 30, 16])
})

test('images on a phone (375 px): an image wider than the screen fits the column; the image box and a refusal fit too, light and dark, with no serious axe findings', async ({ browser, server, room }) => {
  const context = await browser.newContext({ viewport: { width: 375, height: 700 } })
  const page = await context.newPage()
  await page.goto(`${server.url}/?room=${room}&name=Phone`)
  await expect(page.locator('.tandem-badge').first()).toHaveAttribute('data-status', 'live')
  await editor(page).click()
  await pick(page, page.locator('.tandem-toolbar'), { name: 'wide.png', mimeType: 'image/png', buffer: png(1200, 40, [10, 160, 60]) })
  await expect.poll(() => loadedWidths(editor(page))).toEqual([1200])
  const { img, column } = await editor(page).evaluate((el) => ({ img: el.querySelector('img.tandem-image')!.getBoundingClientRect().width, column: el.querySelector('p')!.getBoundingClientRect().width }))
  expect(img).toBeLessThanOrEqual(column + 0.5)
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375)

  // The image box and a refusal notice, light and dark: fit the screen, no serious axe findings.
  await editor(page).locator('img.tandem-image').click()
  const box = page.getByTestId('image-popover')
  await expect(box).toBeVisible()
  await pick(page, page.locator('.tandem-toolbar'), { name: 'x.png', mimeType: 'image/png', buffer: Buffer.from('not a picture') })
  await expect(page.getByTestId('image-notice')).toBeVisible()
  await editor(page).locator('img.tandem-image').click()
  await expect(box).toBeVisible()
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme })
    const { violations } = await new AxeBuilder({ page }).include('.tandem').analyze()
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
    expect(serious, colorScheme).toEqual([])
    const right = await box.evaluate((el) => el.getBoundingClientRect().right)
    expect(right).toBeLessThanOrEqual(375)
  }
  await context.close()
})

test('/embed.html: an image picked in mountEditor shows in <collab-editor>', async ({ browser, server, room }) => {
  const context = await browser.newContext()
  const embed = await context.newPage()
  await embed.goto(`${server.url}/embed.html?room=${room}`)
  await expect(embed.locator('#left .tandem-badge')).toHaveAttribute('data-status', 'live')
  await expect(embed.locator('collab-editor .tandem-badge')).toHaveAttribute('data-status', 'live')
  await embed.locator('#left .ProseMirror').click()
  await pick(embed, embed.locator('#left .tandem-toolbar'), { name: 'green.png', mimeType: 'image/png', buffer: png(24, 12, [10, 160, 60]) })
  await expect.poll(() => loadedWidths(embed.locator('collab-editor .ProseMirror'))).toEqual([24])
  await expect.poll(() => loadedWidths(embed.locator('#left .ProseMirror'))).toEqual([24])
  await context.close()
})

test('with AUTH_SECRET: a read-only viewer sees an image the writer added (the editor adds its token when it shows it); the document holds no token', async ({ browser, room }) => {
  const SECRET = 'e2e-images-secret-0123456789abcdef-0123456789'
  const jwt = (claims: Record<string, unknown>) => {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const body = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims })}`
    return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`
  }
  const server = new TandemServer({ AUTH_SECRET: SECRET })
  await server.start()
  const contexts = [await browser.newContext(), await browser.newContext()]
  try {
    const open = async (i: number, name: string, access: 'read' | 'write') => {
      const page = await contexts[i]!.newPage()
      await page.goto(`${server.url}/?${new URLSearchParams({ room, name, token: jwt({ room, access }) })}`)
      await expect(page.locator('.tandem-badge').first()).toHaveAttribute('data-status', 'live')
      return page
    }
    const writer = await open(0, 'Writer', 'write')
    const viewer = await open(1, 'Viewer', 'read')
    await editor(writer).click()
    await pick(writer, writer.locator('.tandem-toolbar'), { name: 'red.png', mimeType: 'image/png', buffer: png(12, 34, [200, 0, 0]) })
    await expect.poll(() => loadedWidths(editor(viewer))).toEqual([12])
    const src = await editor(viewer).locator('img.tandem-image').getAttribute('src')
    expect(new URL(src!).searchParams.get('token')).toBeTruthy()
    // The path alone is refused: the token is what lets the image load.
    expect((await fetch(src!.split('?')[0]!)).status).toBe(401)
    const content = await fetch(`${server.url}/api/rooms/${room}/content`, { headers: { Authorization: `Bearer ${jwt({ room, access: 'read' })}` } })
    const text = await content.text()
    expect(text).toMatch(/"src":"\/api\/rooms\/[^"]+\/uploads\/[0-9a-f]{64}"/)
    expect(text).not.toContain('token')
    // A viewer's toolbar has no Image button.
    await expect(viewer.getByRole('button', { name: 'Insert image' })).toHaveCount(0)
  } finally {
    for (const c of contexts) await c.close()
    await server.dispose()
  }
})
