import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, expect, editorUrl, expectText, gotoEditor, saveState, typeAtEnd, POLL } from '../fixtures.js'

/**
 * The page keeps each room in IndexedDB (y-indexeddb) and itself in a service worker's cache:
 * edits made offline outlive the tab and the browser, and a room opened before opens offline.
 */

test('typed offline, tab closed, reopened online: the text comes from this device, reaches another user and is saved', async ({ browser, openEditor, server, room }) => {
  const context = await browser.newContext()
  try {
    const first = await context.newPage()
    await gotoEditor(first, server, { room, name: 'Ada' })
    await typeAtEnd(first, 'online.')
    await expect(saveState(first)).toHaveText('All changes saved')

    await context.setOffline(true)
    await typeAtEnd(first, ' typed offline.')
    await expect(saveState(first)).toHaveText('Offline — 1 change kept on this device')
    await first.close()
    // Only this browser has it.
    expect(await server.documentText(room)).toBe('online.')

    await context.setOffline(false)
    const second = await context.newPage()
    await second.goto(editorUrl(server, { room, name: 'Ada' }))
    await expectText(second, 'online. typed offline.')
    await expect(saveState(second)).toHaveText('All changes saved', { timeout: 30_000 })

    // Another user (another browser profile, no copy of its own) gets it from the server.
    const other = await openEditor({ room, name: 'Brian' })
    await expectText(other, 'online. typed offline.')
    expect(await server.documentText(room)).toBe('online. typed offline.')
  } finally {
    await context.close()
  }
})

test('edits made offline survive a browser restart and sync when the page is opened online', async ({ browser, launchOptions, openEditor, server, room }) => {
  // A persistent profile on disk: closing the context ends the browser, relaunching reopens it.
  const profile = mkdtempSync(join(tmpdir(), 'tandem-e2e-profile-'))
  const launch = () => browser.browserType().launchPersistentContext(profile, { ...launchOptions, viewport: { width: 1000, height: 760 } })
  try {
    const before = await launch()
    const page = before.pages()[0] ?? (await before.newPage())
    await gotoEditor(page, server, { room, name: 'Ada' })
    await typeAtEnd(page, 'online.')
    await expect(saveState(page)).toHaveText('All changes saved')
    await before.setOffline(true)
    await typeAtEnd(page, ' before the restart.')
    await expect(saveState(page)).toHaveText('Offline — 1 change kept on this device')
    await before.close()
    expect(await server.documentText(room)).toBe('online.')

    const after = await launch()
    try {
      const reopened = after.pages()[0] ?? (await after.newPage())
      await reopened.goto(editorUrl(server, { room, name: 'Ada' }))
      await expectText(reopened, 'online. before the restart.')
      await expect(saveState(reopened)).toHaveText('All changes saved', { timeout: 30_000 })
      const other = await openEditor({ room, name: 'Brian' })
      await expectText(other, 'online. before the restart.')
    } finally {
      await after.close()
    }
  } finally {
    rmSync(profile, { recursive: true, force: true })
  }
})

test('opening a room while offline shows the copy kept on this device at once, and edits made there sync later', async ({ browser, openEditor, server, room }) => {
  const context = await browser.newContext()
  try {
    const first = await context.newPage()
    await gotoEditor(first, server, { room, name: 'Ada' })
    await typeAtEnd(first, 'read me offline.')
    await expect(saveState(first)).toHaveText('All changes saved')
    // The page itself must be kept too: the service worker stores it before it activates,
    // then takes control of the open page.
    await expect
      .poll(() => first.evaluate(() => navigator.serviceWorker.controller?.state ?? 'no service worker'), { intervals: [...POLL], message: 'the page is kept for offline use' })
      .toBe('activated')
    await first.close()

    await context.setOffline(true)
    const offline = await context.newPage()
    await offline.goto(editorUrl(server, { room, name: 'Ada' }))
    await expectText(offline, 'read me offline.')
    // It never reached the server: what shows came from this device.
    const badge = offline.locator('.tandem-badge')
    await expect(badge).toHaveAttribute('data-status', 'offline')
    await expect(badge).toHaveText('Offline')

    await typeAtEnd(offline, ' Added offline.')
    await context.setOffline(false)
    await expect(saveState(offline)).toHaveText('All changes saved', { timeout: 30_000 })
    const other = await openEditor({ room, name: 'Brian' })
    await expectText(other, 'read me offline. Added offline.')
  } finally {
    await context.close()
  }
})
