import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { BrowserContext, Page } from '@playwright/test'
import { test, expect, TandemServer, editor, editorUrl, expectLive, expectText, saveState, typeAtEnd, POLL } from '../fixtures.js'

/**
 * The server sends the editor pages a Content-Security-Policy (apps/server/src/net/security-headers.ts):
 * scripts and styles from the page's origin (plus the component's injected <style> and caret
 * colours), WebSockets to any ws:/wss: host (?server=), framing only by FRAME_ANCESTORS.
 * These tests use the pages for real under it and fail on any violation the browser reports.
 */

/** Collects every CSP violation in the context's pages: the DOM event, and Chrome's console line. */
async function watchCsp(context: BrowserContext): Promise<string[]> {
  const violations: string[] = []
  await context.exposeBinding('__cspViolation', ({ page }, v: string) => violations.push(`${page.url()}: ${v}`))
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      ;(window as unknown as { __cspViolation(v: string): void }).__cspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'}`)
    })
  })
  context.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(`console: ${m.text()}`)
  })
  return violations
}

/** expectLive, failing with the violations seen so far (a blocked socket never goes live). */
async function live(page: Page, violations: string[]): Promise<void> {
  await expectLive(page).catch((err: Error) => {
    throw new Error(`${err.message}\nCSP violations:\n${violations.join('\n')}`)
  })
}

/**
 * A little web server on another origin serving one HTML page. Another port of 127.0.0.1: a
 * different origin (what frame-ancestors compares) but the same site, so the framed editor is
 * not a third-party frame whose storage the browser blocks.
 */
async function site(html: () => string): Promise<{ origin: string; server: Server }> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html()))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

test('the editor page and /embed.html work under the CSP (carets, injected styles, service worker, offline reload): no violation', async ({ browser, server, room }) => {
  const context = await browser.newContext()
  const violations = await watchCsp(context)
  try {
    const page = await context.newPage()
    const response = await page.goto(editorUrl(server, { room, name: 'Ada' }))
    expect(response!.headers()['content-security-policy']).toContain("frame-ancestors 'self'")
    expect(response!.headers()['x-frame-options']).toBe('SAMEORIGIN')
    expect(response!.headers()['referrer-policy']).toBe('no-referrer')
    await live(page, violations)

    const embed = await context.newPage()
    await embed.goto(`${server.url}/embed.html?room=${room}`)
    await expect(embed.locator('.tandem-badge[data-status=live]')).toHaveCount(2)
    expect(violations, 'loading the pages').toEqual([])

    // Typing, relaying, remote carets (their colour is a style attribute) on both pages.
    await typeAtEnd(page, 'under a CSP.')
    await expect.poll(() => embed.locator('#left .ProseMirror').textContent(), { intervals: [...POLL] }).toContain('under a CSP.')
    await embed.locator('collab-editor .ProseMirror').click()
    await embed.keyboard.press('ControlOrMeta+End')
    await embed.keyboard.type(' From the embed.')
    await expectText(page, 'under a CSP. From the embed.')
    await expect(editor(page).locator('.collaboration-carets__caret').first()).toBeVisible()
    // The component's stylesheet applied (it is an injected <style> element).
    expect(await page.evaluate(() => document.querySelectorAll('style[data-tandem-style]').length)).toBe(1)
    await expect(page.locator('.tandem-toolbar').first()).toHaveCSS('position', 'sticky')

    // The service worker registers and keeps the page; offline, the kept page (with the headers
    // it was served with) opens and shows the document.
    await expect(saveState(page)).toHaveText('All changes saved')
    await expect
      .poll(() => page.evaluate(() => navigator.serviceWorker.controller?.state ?? 'none'), { intervals: [...POLL] })
      .toBe('activated')
    await context.setOffline(true)
    await page.reload()
    await expectText(page, 'under a CSP. From the embed.')
    await context.setOffline(false)
    await live(page, violations)

    expect(violations).toEqual([])
  } finally {
    await context.close()
  }
})

test('?server= points the page at another sync server: connect-src allows it (and Origin is still sent under no-referrer)', async ({ browser, server, room }) => {
  // Another port is another origin: 'self' alone would refuse this socket. The other server only
  // admits the page's origin: with Referrer-Policy no-referrer the handshake must still carry Origin.
  const other = new TandemServer({ ALLOWED_ORIGINS: server.url })
  await other.start()
  const context = await browser.newContext()
  const violations = await watchCsp(context)
  try {
    const page = await context.newPage()
    await page.goto(editorUrl(server, { room, name: 'Ada', params: { server: other.wsUrl } }))
    await live(page, violations)
    await typeAtEnd(page, 'stored on the other server.')
    await expect.poll(() => other.documentText(room), { intervals: [...POLL] }).toBe('stored on the other server.')
    expect(violations).toEqual([])
  } finally {
    await context.close()
    await other.dispose()
  }
})

test("another site cannot frame the editor (frame-ancestors 'self'); a site listed in FRAME_ANCESTORS can", async ({ browser, server, room }) => {
  let target = ''
  const host = await site(() => `<!doctype html><title>Framing</title><iframe src="${target}" width="800" height="600"></iframe>`)
  const allowing = new TandemServer({ FRAME_ANCESTORS: `'self' ${host.origin}` })
  await allowing.start()
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    const consoleLines: string[] = []
    page.on('console', (m) => consoleLines.push(m.text()))

    // Default: refused. The frame never gets the editor.
    target = editorUrl(server, { room, name: 'Framed' })
    await page.goto(host.origin)
    await expect.poll(() => consoleLines.some((l) => /frame-ancestors/.test(l)), { intervals: [...POLL] }).toBe(true)
    expect(await page.frameLocator('iframe').locator('.tandem-badge').count()).toBe(0)

    // Listed in FRAME_ANCESTORS: the framed editor goes live.
    target = editorUrl(allowing, { room, name: 'Framed' })
    await page.goto(host.origin)
    await expect(page.frameLocator('iframe').locator('.tandem-badge[data-status=live]')).toHaveCount(1)
  } finally {
    await context.close()
    await allowing.dispose()
    await new Promise((resolve) => host.server.close(resolve))
  }
})
