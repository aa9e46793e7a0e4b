import { test, expect, expectText, saveState, typeAtEnd, type Page } from '../fixtures.js'

/**
 * The saved indicator says "All changes saved" only after the server acknowledged storing the
 * edit (docs/protocol.md, "What an editor shows"). To prove it, the server is frozen with
 * SIGSTOP between an edit and its acknowledgement: its socket stays open, so the page stays
 * connected, and nothing it sends is read, stored or acknowledged until SIGCONT (or the kill -9
 * that follows).
 */

/**
 * Records every text the saved indicator shows from now on. A MutationObserver in the page
 * sees each change as it happens; polling from the test could miss a brief "All changes saved".
 * Returns a function that reads the texts seen so far (the first one is the current text).
 */
async function recordSaveStates(page: Page): Promise<() => Promise<string[]>> {
  await page.getByTestId('save-state').evaluate((el) => {
    const seen = [el.textContent ?? '']
    ;(window as unknown as { saveStates: string[] }).saveStates = seen
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.type === 'characterData') seen.push(el.textContent ?? '')
        else if (r.addedNodes.length > 0) seen.push([...r.addedNodes].map((n) => n.textContent ?? '').join(''))
        else if (el.textContent === '') seen.push('')
      }
    }).observe(el, { childList: true, characterData: true, subtree: true })
  })
  return () => page.evaluate(() => (window as unknown as { saveStates: string[] }).saveStates)
}

test('"Saving…" while a frozen server holds the edit; "All changes saved" only once it is stored', async ({ openEditor, server, room }) => {
  const page = await openEditor({ room, name: 'Ada' })
  await typeAtEnd(page, 'before.')
  await expect(saveState(page)).toHaveText('All changes saved')
  const history = await recordSaveStates(page)

  server.pause()
  await typeAtEnd(page, ' held edit')
  await expect(saveState(page)).toHaveText('Saving…')
  await expect(page.locator('.tandem-badge')).toHaveAttribute('data-status', 'live') // still connected
  // Keep typing key by key, as people do: each keystroke is another edit nobody acknowledges.
  await page.keyboard.type(' and more')
  await expect(saveState(page)).toHaveText('Saving…')
  // Everything the indicator said while the server could not acknowledge anything.
  expect(await history()).toEqual(['All changes saved', 'Saving…'])

  server.resume()
  await expect(saveState(page)).toHaveText('All changes saved')
  expect((await history()).at(-1)).toBe('All changes saved')

  // Stored, not merely received: after kill -9 and a restart the store has the edit.
  await server.stop('SIGKILL')
  await server.start()
  expect(await server.documentText(room)).toBe('before. held edit and more')
})

test('server killed between edit and acknowledgement: never "saved"; the edit is sent again and stored after a restart', async ({ openEditor, server, room }) => {
  const page = await openEditor({ room, name: 'Ada' })
  const other = await openEditor({ room, name: 'Brian' })
  await typeAtEnd(page, 'before.')
  await expect(saveState(page)).toHaveText('All changes saved')
  const history = await recordSaveStates(page)

  server.pause()
  await typeAtEnd(page, ' never read by the server')
  await expect(saveState(page)).toHaveText('Saving…')
  // The edit waits in the frozen server's socket buffer; kill -9 throws it away unread.
  await server.stop('SIGKILL')
  await expect(saveState(page)).toHaveText('Offline — 1 change kept on this device')

  await server.start()
  await expect(saveState(page)).toHaveText('All changes saved', { timeout: 30_000 })
  await expectText(other, 'before. never read by the server', 30_000)
  // Between the freeze and the restart it never claimed the edit was saved.
  const seen = await history()
  expect(seen.slice(1, -1)).not.toContain('All changes saved')
  expect(seen.at(-1)).toBe('All changes saved')

  await server.stop('SIGKILL')
  await server.start()
  expect(await server.documentText(room)).toBe('before. never read by the server')
})

test('offline, the badge counts the changes kept on this device, and says saved once they are stored', async ({ openEditor, server, room }) => {
  const page = await openEditor({ room, name: 'Ada' })
  const other = await openEditor({ room, name: 'Brian' })
  await typeAtEnd(page, 'online.')
  await expect(saveState(page)).toHaveText('All changes saved')

  await page.context().setOffline(true)
  await expect(saveState(page)).toHaveText('Offline')
  await typeAtEnd(page, ' first offline edit.')
  await expect(saveState(page)).toHaveText('Offline — 1 change kept on this device')
  await typeAtEnd(page, ' second.')
  await expect(saveState(page)).toHaveText('Offline — 2 changes kept on this device')
  expect(await server.documentText(room)).toBe('online.')

  await page.context().setOffline(false)
  await expect(saveState(page)).toHaveText('All changes saved', { timeout: 30_000 })
  await expectText(other, 'online. first offline edit. second.')
  expect(await server.documentText(room)).toBe('online. first offline edit. second.')
})

test('closing the tab asks first while an edit awaits the acknowledgement, and not once it is saved', async ({ openEditor, server, room }) => {
  const page = await openEditor({ room, name: 'Ada' })
  await typeAtEnd(page, 'first.')
  await expect(saveState(page)).toHaveText('All changes saved')

  server.pause()
  await typeAtEnd(page, ' unconfirmed')
  await expect(saveState(page)).toHaveText('Saving…')
  const dialog = page.waitForEvent('dialog')
  await page.close({ runBeforeUnload: true })
  const asked = await dialog
  expect(asked.type()).toBe('beforeunload')
  await asked.dismiss() // stay on the page
  expect(page.isClosed()).toBe(false)

  server.resume()
  await expect(saveState(page)).toHaveText('All changes saved')
  const dialogs: string[] = []
  page.on('dialog', (d) => {
    dialogs.push(d.type())
    void d.accept()
  })
  const closed = page.waitForEvent('close')
  await page.close({ runBeforeUnload: true })
  await closed
  expect(dialogs).toEqual([])
})

test('offline with the changes kept on this device, closing the tab does not ask', async ({ openEditor, room }) => {
  const page = await openEditor({ room, name: 'Ada' })
  await typeAtEnd(page, 'first.')
  await expect(saveState(page)).toHaveText('All changes saved')
  await page.context().setOffline(true)
  await typeAtEnd(page, ' offline')
  await expect(saveState(page)).toHaveText('Offline — 1 change kept on this device')

  const dialogs: string[] = []
  page.on('dialog', (d) => {
    dialogs.push(d.type())
    void d.accept()
  })
  const closed = page.waitForEvent('close')
  await page.close({ runBeforeUnload: true })
  await closed
  expect(dialogs).toEqual([])
})
