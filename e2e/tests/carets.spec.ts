import { test, expect, editor, expectText, typeAtEnd, POLL } from '../fixtures.js'

test("the remote caret shows the other user's name and follows their cursor", async ({ openEditor, room }) => {
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian Kernighan' })
  await typeAtEnd(a, 'first line')
  await a.keyboard.press('Enter')
  await a.keyboard.type('second line')
  await expectText(b, 'first linesecond line')

  // Brian puts his caret at the end of the first line.
  await editor(b).locator('p', { hasText: 'first line' }).click()
  await b.keyboard.press('End')

  const caret = a.locator('.collaboration-carets__caret', { hasText: 'Brian Kernighan' })
  const label = caret.locator('.collaboration-carets__label')
  await expect(label).toBeVisible()
  await expect(label).toHaveText('Brian Kernighan')
  // In Brian's colour, and inside the first paragraph.
  const brianColor = await b.locator('#me-color').evaluate((el) => getComputedStyle(el).backgroundColor)
  await expect(caret).toHaveCSS('border-left-color', brianColor)
  await expect(label).toHaveCSS('background-color', brianColor)
  await expect(editor(a).locator('p').nth(0).locator('.collaboration-carets__caret')).toHaveCount(1)
  const before = (await caret.boundingBox())!

  // He moves down a line: the caret follows.
  await b.keyboard.press('ArrowDown')
  await b.keyboard.press('End')
  await expect(editor(a).locator('p').nth(1).locator('.collaboration-carets__caret')).toHaveCount(1)
  await expect(editor(a).locator('p').nth(0).locator('.collaboration-carets__caret')).toHaveCount(0)
  await expect.poll(async () => (await caret.boundingBox())!.y, { intervals: [...POLL] }).toBeGreaterThan(before.y)

  // He types: the caret moves right with the text.
  const x0 = (await caret.boundingBox())!.x
  await b.keyboard.type(' and more')
  await expectText(a, 'first linesecond line and more')
  await expect.poll(async () => (await caret.boundingBox())!.x, { intervals: [...POLL] }).toBeGreaterThan(x0)

  // Our own caret is never drawn as a remote one.
  await expect(a.locator('.collaboration-carets__label', { hasText: 'Ada' })).toHaveCount(0)
})

test('a remote caret appearing does not move the text (no layout jump)', async ({ openEditor, room }) => {
  const a = await openEditor({ room, name: 'Ada' })
  await typeAtEnd(a, 'The quick brown fox jumps over the lazy dog. '.repeat(6))
  const paragraph = editor(a).locator('p').first()
  const words = async () =>
    paragraph.evaluate((p) => {
      // Position of the last character: any shift in line breaking or height shows up here.
      // (The caret widget splits the text node, so find the last text outside any caret.)
      const walker = document.createTreeWalker(p, NodeFilter.SHOW_TEXT, {
        acceptNode: (n) => (n.parentElement!.closest('.collaboration-carets__caret') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
      })
      let text: Node | null = null
      for (let n = walker.nextNode(); n; n = walker.nextNode()) text = n
      const range = document.createRange()
      range.setStart(text!, text!.textContent!.length - 2)
      range.setEnd(text!, text!.textContent!.length - 1)
      const r = range.getBoundingClientRect()
      const box = p.getBoundingClientRect()
      return { x: r.x, y: r.y, height: box.height }
    })
  const before = await words()

  const b = await openEditor({ room, name: 'Brian' })
  await editor(b).locator('p').first().click({ position: { x: 40, y: 10 } })
  await expect(a.locator('.collaboration-carets__label', { hasText: 'Brian' })).toBeVisible()
  expect(await words()).toEqual(before)
})
