import { test, expect, docText, editor, expectText, typeAtEnd, POLL } from '../fixtures.js'

/** Version history in the editor: the History panel, a version shown in place, a restore while others type. */

test('restore a version while three tabs edit: every tab converges on the restored document plus the edits made after it', async ({ openEditor, room, server }) => {
  // Three tabs and a conversion thread on a shared machine: more than the default two minutes.
  test.setTimeout(300_000)
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  const c = await openEditor({ room, name: 'Chen' })

  await typeAtEnd(a, 'The good text.')
  await expectText([a, b, c], 'The good text.')
  const named = await fetch(`${server.url}/api/rooms/${encodeURIComponent(room)}/versions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'Good' }),
  })
  expect(named.status).toBe(201)
  await typeAtEnd(b, ' Vandalised!')
  await expectText([a, b, c], 'The good text. Vandalised!')

  // Ada opens the history: the named version is listed; selecting it shows it read-only in place.
  await a.getByTestId('history-button').click()
  const item = a.getByTestId('version-item').filter({ hasText: 'Good' })
  await expect(item).toBeVisible()
  await item.click()
  const preview = a.getByTestId('version-preview')
  await expect(preview).toBeVisible()
  await expect(preview.locator('.ProseMirror')).toHaveText('The good text.')
  await expect(preview.locator('.ProseMirror')).toHaveAttribute('contenteditable', 'false')
  // The paragraph differs from today's: highlighted.
  await expect(preview.locator('.tandem-history-changed')).toHaveCount(1)

  // Restore while Chen keeps typing (what he typed before the restore is stored is replaced with
  // the rest of the paragraph; what comes after it stays).
  const typing = (async () => {
    for (let i = 0; i < 2; i++) await typeAtEnd(c, ` c${i}`)
  })()
  await a.getByTestId('restore-version').click()
  await typing
  await expect(preview).toBeHidden()

  // Everyone converges: the vandalism is gone everywhere, and the tabs agree.
  for (const p of [a, b, c]) await expect.poll(() => docText(p), { timeout: 20_000, intervals: [...POLL] }).not.toContain('Vandalised')
  await expect.poll(async () => new Set(await Promise.all([a, b, c].map((p) => docText(p)))).size, { timeout: 20_000, intervals: [...POLL] }).toBe(1)
  expect(await docText(a)).toContain('The good text.')

  // Edits after the restore reach everyone; the restore is in the list, as a version before it.
  await typeAtEnd(b, ' After.')
  const final = await docText(b)
  expect(final.endsWith(' After.')).toBe(true)
  await expectText([a, b, c], final)
  await expect(a.getByTestId('version-item').filter({ hasText: 'Before a restore' })).toBeVisible()
  await expect(editor(a)).toBeVisible()
})

test('the embedded editor can hide the History button (no-history)', async ({ browser, server, room }) => {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${server.url}/embed.html?room=${room}`)
  await expect(page.locator('collab-editor .tandem-badge')).toHaveAttribute('data-status', 'live')
  await expect(page.locator('collab-editor').getByTestId('history-button')).toBeVisible()
  await page.evaluate((name) => {
    const el = document.createElement('collab-editor')
    el.setAttribute('room', name)
    el.setAttribute('no-history', '')
    el.id = 'no-history'
    document.body.append(el)
  }, room)
  const embedded = page.locator('#no-history')
  await expect(embedded.locator('.tandem-toolbar')).toBeVisible()
  await expect(embedded.getByTestId('history-button')).toHaveCount(0)
  await context.close()
})
