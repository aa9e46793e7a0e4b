import { test, expect, docText, editor, expectText, typeAtEnd, POLL } from '../fixtures.js'

test('three tabs in one room: typing in any tab appears in the other two', async ({ openEditor, room }) => {
  const tabs = await Promise.all(['Ada', 'Brian', 'Chen'].map((name) => openEditor({ room, name })))
  const parts = ['Ada was here.', ' Brian too.', ' And Chen.']
  for (const [i, page] of tabs.entries()) {
    await typeAtEnd(page, parts[i]!)
    await expectText(tabs, parts.slice(0, i + 1).join(''))
  }
})

test('two tabs typing at the same spot at the same time end with identical content', async ({ openEditor, room }) => {
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  await typeAtEnd(a, 'start|end')
  await expectText(b, 'start|end')

  // Both carets right after "start|".
  for (const page of [a, b]) {
    await editor(page).click()
    await page.keyboard.press('ControlOrMeta+End')
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowLeft')
  }
  // Type concurrently: the two keyboards interleave in real time.
  await Promise.all([a.keyboard.type('AAAAAAAAAA', { delay: 15 }), b.keyboard.type('bbbbbbbbbb', { delay: 15 })])

  await expect
    .poll(
      async () => {
        const [ta, tb] = await Promise.all([docText(a), docText(b)])
        return ta === tb ? ta : `diverged: ${ta} != ${tb}`
      },
      { intervals: [...POLL] },
    )
    .toMatch(/^start\|[Ab]{20}end$/)
  const final = await docText(a)
  // Nothing lost: all twenty characters arrived, and neither side's run was reordered.
  expect(final.replace(/[^A]/g, '')).toBe('AAAAAAAAAA')
  expect(final.replace(/[^b]/g, '')).toBe('bbbbbbbbbb')
})
