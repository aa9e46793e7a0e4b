import AxeBuilder from '@axe-core/playwright'
import { test, expect, docText, editor, expectSaved, expectText, typeAtEnd, POLL, type Page } from '../fixtures.js'

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
  // The first version: nothing earlier to compare it with.
  await expect(a.getByTestId('version-legend')).toContainText('no earlier one')

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

/**
 * Undo after someone else's restore. The restore is a remote change to Ada: her undo manager
 * (y-tiptap: trackedOrigins = the ySync plugin only) undoes only her own changes, so it must not
 * "resurrect" anything, meaning: after Brian restores v1, any number of Ada's undos leave every
 * tab showing exactly v1's text: neither the text her edit put there ("Replaced.") nor the
 * paragraph her edit removed ("Old second.") comes back (it would sit beside the copy the restore
 * re-inserted: "Old second." twice), and both tabs agree.
 */
test('after a restore, undo in another tab does not bring back what the restore replaced', async ({ openEditor, room, server }) => {
  test.setTimeout(180_000)
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  await typeAtEnd(a, 'Old first.')
  await a.keyboard.press('Enter')
  await a.keyboard.insertText('Old second.')
  await expectText([a, b], 'Old first.Old second.')
  await expectSaved(a)
  const v1 = await fetch(`${server.url}/api/rooms/${encodeURIComponent(room)}/versions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'v1' }),
  })
  expect(v1.status).toBe(201)

  // Ada replaces everything (one undo step: both paragraphs' text and the second paragraph go).
  await editor(a).click()
  await a.keyboard.press('ControlOrMeta+A')
  await a.keyboard.insertText('Replaced.')
  await expectText([a, b], 'Replaced.')
  await expectSaved(a)

  // Brian restores v1 from his History panel.
  await b.getByTestId('history-button').click()
  await b.getByTestId('version-item').filter({ hasText: 'v1' }).click()
  await b.getByTestId('restore-version').click()
  await expect(b.getByTestId('version-preview')).toBeHidden()
  await expectText([a, b], 'Old first.Old second.')

  // Ada undoes as far as her undo manager goes.
  await editor(a).click()
  const undo = a.getByRole('button', { name: 'Undo' })
  for (let i = 0; i < 10 && (await undo.isEnabled()); i++) await a.keyboard.press('ControlOrMeta+Z')
  await expectSaved(a)
  await expectText([a, b], 'Old first.Old second.')
  expect(await server.documentText(room)).toBe('Old first.Old second.')
})

async function nameVersion(serverUrl: string, room: string, name: string): Promise<void> {
  const res = await fetch(`${serverUrl}/api/rooms/${encodeURIComponent(room)}/versions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name }),
  })
  expect(res.status).toBe(201)
}

/** axe-core's serious and critical findings, one line each. */
async function seriousViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze()
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
}

test('a version shows what it changed since the one before, word by word, in its author\'s colour (grey for several); axe passes light and dark', async ({ openEditor, room, server }) => {
  test.setTimeout(180_000)
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  await typeAtEnd(a, 'The quick brown fox jumps.')
  await a.keyboard.press('Enter')
  await a.keyboard.insertText('A paragraph that goes away.')
  await expectSaved(a)
  await nameVersion(server.url, room, 'One')

  // Ada alone: a word replaced, a paragraph removed, one added.
  await editor(a).click()
  await a.keyboard.press('ControlOrMeta+A')
  await a.keyboard.insertText('The quick red fox jumps.')
  await a.keyboard.press('Enter')
  await a.keyboard.insertText('Something else entirely here.')
  await expectText(b, 'The quick red fox jumps.Something else entirely here.')
  await expectSaved(a)
  await nameVersion(server.url, room, 'Two')

  // Then both of them.
  await typeAtEnd(a, ' Ada adds.')
  await expectText(b, /Ada adds\.$/)
  await typeAtEnd(b, ' Brian adds.')
  await expectText(a, /Brian adds\.$/)
  await expectSaved(a)
  await expectSaved(b)
  await nameVersion(server.url, room, 'Three')

  await a.getByTestId('history-button').click()
  await a.getByTestId('version-item').filter({ hasText: 'Two' }).click()
  const preview = a.getByTestId('version-preview')
  const pm = preview.locator('.ProseMirror')
  await expect(pm).toContainText('The quick')
  await expect(pm.locator('ins.tandem-diff-ins', { hasText: 'red' })).toHaveCount(1)
  await expect(pm.locator('del.tandem-diff-del', { hasText: 'brown' })).toHaveCount(1)
  await expect(pm.locator('.tandem-diff-block-ins ins.tandem-diff-ins')).toHaveText('Something else entirely here.')
  await expect(pm.locator('.tandem-diff-block-del del')).toHaveText('A paragraph that goes away.')
  // Not by colour alone: underline / strike-through, and words for screen readers.
  const red = pm.locator('ins.tandem-diff-ins', { hasText: 'red' })
  expect(await red.evaluate((el) => getComputedStyle(el).textDecorationLine)).toBe('underline')
  expect(await pm.locator('del.tandem-diff-del').first().evaluate((el) => getComputedStyle(el).textDecorationLine)).toBe('line-through')
  await expect(pm.locator('.tandem-diff-sr', { hasText: 'inserted:' }).first()).toBeAttached()
  await expect(pm.locator('.tandem-diff-sr', { hasText: 'deleted:' }).first()).toBeAttached()
  // One author: the marks take her colour, the one the legend shows beside her name.
  const legend = a.getByTestId('version-legend')
  await expect(legend.getByTestId('version-legend-authors')).toHaveText('Ada')
  const swatch = await legend.locator('.tandem-history-swatch').evaluate((el) => getComputedStyle(el).backgroundColor)
  expect(await red.evaluate((el) => getComputedStyle(el).textDecorationColor)).toBe(swatch)
  expect(swatch).not.toBe('rgb(134, 142, 150)')
  // The text itself keeps the document's colour.
  expect(await red.evaluate((el) => getComputedStyle(el).color)).toBe(await pm.evaluate((el) => getComputedStyle(el).color))

  expect(await seriousViolations(a)).toEqual([])
  await a.emulateMedia({ colorScheme: 'dark' })
  expect(await seriousViolations(a)).toEqual([])
  await a.emulateMedia({ colorScheme: 'light' })

  // Two authors: neutral grey, both listed.
  await a.getByTestId('version-item').filter({ hasText: 'Three' }).click()
  await expect(pm.locator('ins.tandem-diff-ins', { hasText: 'Brian' })).toHaveCount(1)
  await expect(legend.getByTestId('version-legend-authors')).toContainText('Ada')
  await expect(legend.getByTestId('version-legend-authors')).toContainText('Brian')
  await expect(legend).toContainText('grey')
  expect(await pm.locator('ins.tandem-diff-ins').first().evaluate((el) => getComputedStyle(el).textDecorationColor)).toBe('rgb(134, 142, 150)')
})

test('the versions list answers 304 to its own ETag; a version taken by a restore while the panel is open appears in it', async ({ openEditor, room, server }) => {
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  await typeAtEnd(a, 'Some text.')
  await expectSaved(a)
  await nameVersion(server.url, room, 'First')
  const url = `${server.url}/api/rooms/${encodeURIComponent(room)}/versions?limit=100`
  const first = await fetch(url)
  const etag = first.headers.get('etag')
  expect(etag).toBeTruthy()
  expect((await fetch(url, { headers: { 'If-None-Match': etag! } })).status).toBe(304)

  await a.getByTestId('history-button').click()
  await expect(a.getByTestId('version-item')).toHaveCount(1)
  // Brian restores the first version: Ada's list shows the "before a restore" one (fetched once
  // the document's change settles; the 10 s poll is only a backstop; not asserted on time).
  await typeAtEnd(b, ' More.')
  await expectSaved(b)
  const { versions } = (await first.json()) as { versions: Array<{ id: number }> }
  const restore = await fetch(`${server.url}/api/rooms/${encodeURIComponent(room)}/versions/${versions[0]!.id}/restore`, { method: 'POST' })
  expect(restore.status).toBe(200)
  await expectText(a, 'Some text.')
  await expect(a.getByTestId('version-item').filter({ hasText: 'Before a restore' })).toBeVisible()
  expect((await fetch(url, { headers: { 'If-None-Match': etag! } })).status).toBe(200)
})
