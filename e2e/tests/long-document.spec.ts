import { test, expect, editor } from '../fixtures.js'

// A long document (from 200 top-level blocks: data-long, styles/editor.css) renders only the
// blocks on screen (content-visibility: auto). Editing, remote typing and carets must work as
// in a short one, and a caret's name label above a block's first line must not be clipped by
// the blocks' paint containment.
test('a long document: off-screen blocks are skipped, typing and carets work, labels are not clipped', async ({ openEditor, room, server }) => {
  test.slow() // two pages holding 300 paragraphs each
  const markdown = Array.from({ length: 300 }, (_, i) => `Paragraph ${i} ${'lorem ipsum '.repeat(8)}`).join('\n\n')
  const res = await fetch(`${server.url}/api/rooms/${room}/content`, { method: 'PUT', headers: { 'content-type': 'text/markdown' }, body: markdown })
  expect(res.status).toBeLessThan(300)

  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  for (const page of [a, b]) {
    await expect(editor(page).locator('> p')).toHaveCount(300, { timeout: 30_000 })
    await expect(page.locator('.tandem').first()).toHaveAttribute('data-long', '')
  }
  expect(await editor(a).locator('> p').nth(250).evaluate((p) => getComputedStyle(p).contentVisibility)).toBe('auto')

  // Brian types at the start of paragraph 150: Ada sees it.
  const target = editor(b).locator('> p').nth(150)
  await target.scrollIntoViewIfNeeded()
  await target.click({ position: { x: 4, y: 6 } }) // on its first line
  await b.keyboard.press('Home')
  await b.keyboard.type('Brian was here. ')
  // (the text of a paragraph holding a remote caret includes the caret's label)
  await expect(editor(b).locator('> p').nth(150)).toHaveText(/^Brian was here\. Paragraph 150 /)
  await expect(editor(a).locator('> p').nth(150)).toContainText('Brian was here. ')

  // Ada types far below, at the start of paragraph 280: Brian sees it. (On its first line, as
  // Brian did: a click in the middle of a two-line paragraph lands on either line, and End
  // then goes to the end of that line, the middle of the paragraph.)
  const own = editor(a).locator('> p').nth(280)
  await own.scrollIntoViewIfNeeded()
  await own.click({ position: { x: 4, y: 6 } })
  await a.keyboard.press('Home')
  await a.keyboard.type('Ada too. ')
  await expect(editor(a).locator('> p').nth(280)).toHaveText(/^Ada too\. Paragraph 280 /)
  // (Ada's caret label follows her text on Brian's page)
  await expect(editor(b).locator('> p').nth(280)).toHaveText(/^Ada too\. (Ada)?Paragraph 280 /)

  // Brian's caret (first line of paragraph 150) on Ada's page: its label sits above the
  // paragraph's box and is painted there (the topmost element at its corner).
  // (Polled: blocks scrolled into view are rendered at the next frame, not at once.)
  const label = a.locator('.collaboration-carets__label', { hasText: 'Brian' })
  await label.scrollIntoViewIfNeeded()
  await expect(label).toBeVisible()
  const painted = () =>
    label.evaluate((el) => {
      const paragraph = el.closest('p')!
      const box = el.getBoundingClientRect()
      // hit testing only: carets ignore the pointer
      ;(el as HTMLElement).style.pointerEvents = 'auto'
      const hit = document.elementFromPoint(box.left + 2, box.top + 2)
      ;(el as HTMLElement).style.pointerEvents = ''
      return { above: box.top < paragraph.getBoundingClientRect().top, hit: hit !== null && el.contains(hit) }
    })
  await expect.poll(painted).toEqual({ above: true, hit: true })
})
