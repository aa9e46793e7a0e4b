import type { Page } from '@playwright/test'
import { test, expect, docText, expectLive, expectSaved, expectText, typeAtEnd } from '../fixtures.js'
import { startUpgradeProxy, type UpgradeProxy } from '../upgrade-proxy.js'

/**
 * The editor page behind a reverse proxy that refuses WebSocket upgrades (like nginx without the
 * upgrade headers): the provider falls back to the HTTP transport (Engine.IO long-polling) and
 * the page works as it does over a WebSocket, next to a tab connected directly. The badge's
 * tooltip names the transport (apps/editor/src/connection-badge.ts).
 */

let proxy: UpgradeProxy | undefined
test.afterEach(async () => {
  await proxy?.close()
  proxy = undefined
})

/** Opens the editor through the proxy in a fresh context. */
async function openBehindProxy(page: Page, proxyUrl: string, room: string, name: string): Promise<void> {
  await page.goto(`${proxyUrl}/?${new URLSearchParams({ room, name })}`)
  await expectLive(page)
}

const badge = (page: Page) => page.locator('.tandem-badge').first()

test('behind a proxy that refuses upgrades the page syncs over HTTP with a direct tab: carets, saved badge, offline and back', async ({ browser, server, openEditor, room }) => {
  proxy = await startUpgradeProxy(Number(new URL(server.url).port))
  const context = await browser.newContext()
  const a = await context.newPage()
  await openBehindProxy(a, proxy.url, room, 'Ada Lovelace')
  await expect(badge(a)).toHaveAttribute('data-transport', 'http')
  await expect(badge(a)).toHaveAttribute('title', /HTTP long-polling/)
  expect(proxy.refusedUpgrades).toBeGreaterThan(0)

  const b = await openEditor({ room, name: 'Brian Kernighan' })
  await expect(badge(b)).toHaveAttribute('data-transport', 'websocket')

  await typeAtEnd(a, 'over http')
  await expectText(b, 'over http')
  await expectSaved(a)
  await typeAtEnd(b, ' and ws')
  await expectText(a, 'over http and ws')
  // Presence crosses the transports both ways.
  await expect(a.locator('.collaboration-carets__caret', { hasText: 'Brian Kernighan' })).toHaveCount(1)
  await expect(b.locator('.collaboration-carets__caret', { hasText: 'Ada Lovelace' })).toHaveCount(1)

  await context.setOffline(true)
  await expect(badge(a)).toHaveAttribute('data-status', 'offline')
  await typeAtEnd(a, ' offline')
  expect(await docText(b)).not.toContain('offline')
  await context.setOffline(false)
  await expectLive(a)
  await expectText([a, b], 'over http and ws offline', 30_000)
  await expectSaved(a)
  await context.close()
})

test('when the proxy starts letting upgrades through, the page moves to WebSocket without losing an edit', async ({ browser, server, openEditor, room }) => {
  proxy = await startUpgradeProxy(Number(new URL(server.url).port))
  const context = await browser.newContext()
  const a = await context.newPage()
  await openBehindProxy(a, proxy.url, room, 'Ada')
  await expect(badge(a)).toHaveAttribute('data-transport', 'http')
  const b = await openEditor({ room, name: 'Brian' })

  await typeAtEnd(a, 'before')
  proxy.upgrades('allow')
  // Typing goes on while the provider probes (every 30 s by default) and moves: each edit is
  // awaited on the direct tab, which also paces the loop (no sleeps).
  const moved = a.locator('.tandem-badge[data-transport="websocket"]').waitFor({ timeout: 90_000 })
  let done = false
  void moved.then(() => (done = true), () => (done = true))
  let typed = 'before'
  while (!done) {
    await typeAtEnd(a, '.')
    typed += '.'
    await expectText(b, typed)
  }
  await moved
  await expect(badge(a)).toHaveAttribute('title', /WebSocket/)
  await typeAtEnd(a, ' after')
  typed += ' after'
  await expectText([a, b], typed, 30_000)
  await expectSaved(a)
  await context.close()
})
