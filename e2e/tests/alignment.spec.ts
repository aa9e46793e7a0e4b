import { test, expect, editor } from '../fixtures.js'

/**
 * Text alignment: the toolbar's Align left / center / right buttons (also reached with the arrow
 * keys: the toolbar keeps one tab stop) set the paragraph's or heading's `textAlign`, an
 * attribute of the shared node, so every tab shows it.
 */

test('alignment: center and right from the toolbar (mouse and keyboard) show in the other tab; left undoes it', async ({ openEditor, room }) => {
  test.slow()
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  const pmA = editor(a)
  // Paragraphs by position: a remote caret's name label sits inside the text it is in.
  const pmB = editor(b)
  await pmA.click()
  await a.keyboard.type('Centred line')
  await a.getByRole('button', { name: 'Align center' }).click()
  await expect(pmB.locator('p').nth(0)).toHaveCSS('text-align', 'center')
  await expect(a.getByRole('button', { name: 'Align center' })).toHaveAttribute('aria-pressed', 'true')

  // Keyboard: Alt+F10 to the toolbar, arrows to "Align right", Enter.
  await a.keyboard.press('Enter')
  await a.keyboard.type('Right line')
  await expect(pmB.locator('p').nth(1)).toContainText('Right line')
  await a.keyboard.press('Alt+F10')
  expect(await a.locator('.tandem-tool[tabindex="0"]').count()).toBe(1)
  const right = a.getByRole('button', { name: 'Align right' })
  for (let i = 0; i < 40 && !(await right.evaluate((el) => el === document.activeElement)); i++) await a.keyboard.press('ArrowRight')
  await expect(right).toBeFocused()
  await a.keyboard.press('Enter')
  await expect(pmB.locator('p').nth(1)).toHaveCSS('text-align', 'right')
  // The new line took the centred line's alignment when Enter split it; now it is right-aligned, the first still centred.
  await expect(pmB.locator('p').nth(0)).toHaveCSS('text-align', 'center')

  // Align left: back to the default (no attribute).
  await pmA.locator('p').nth(0).click()
  await a.getByRole('button', { name: 'Align left' }).click()
  await expect(pmB.locator('p').nth(0)).not.toHaveAttribute('style', /text-align/)
  await expect(pmB.locator('p').nth(1)).toHaveCSS('text-align', 'right')
})

test('/embed.html: alignment set in mountEditor shows in <collab-editor>', async ({ browser, server, room }) => {
  const context = await browser.newContext()
  const embed = await context.newPage()
  await embed.goto(`${server.url}/embed.html?room=${room}`)
  await expect(embed.locator('#left .tandem-badge')).toHaveAttribute('data-status', 'live')
  await expect(embed.locator('collab-editor .tandem-badge')).toHaveAttribute('data-status', 'live')
  await embed.locator('#left .ProseMirror').click()
  await embed.keyboard.type('Embedded centre')
  await embed.locator('#left').getByRole('button', { name: 'Align center' }).click()
  await expect(embed.locator('collab-editor .ProseMirror p', { hasText: 'Embedded centre' })).toHaveCSS('text-align', 'center')
  await context.close()
})
