import { test, expect, docText, editor, expectLive, expectSaved, expectText, saveState, typeAtEnd } from '../fixtures.js'

test('edits made offline in two tabs converge when they are back online', async ({ openEditor, room }) => {
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  await typeAtEnd(a, 'shared line')
  await expectText(b, 'shared line')

  await a.context().setOffline(true)
  await b.context().setOffline(true)
  for (const page of [a, b]) await expect(page.locator('.tandem-badge')).toHaveAttribute('data-status', 'offline')

  // Both edit the same paragraph while cut off from the server and from each other.
  await typeAtEnd(a, ' +ada')
  await editor(b).click()
  await b.keyboard.press('ControlOrMeta+Home')
  await b.keyboard.type('brian+ ')
  await typeAtEnd(b, ' +brian-end')
  await a.keyboard.press('Enter')
  await a.keyboard.type('ada second paragraph')
  await expect(saveState(a)).toHaveText(/^Offline — \d+ changes kept on this device$/)
  // Really offline: neither has seen the other's edits.
  expect(await docText(a)).not.toContain('brian')
  expect(await docText(b)).not.toContain('ada')

  await a.context().setOffline(false)
  await b.context().setOffline(false)
  for (const page of [a, b]) await expectLive(page, 30_000)

  // Both appended at the same spot: Yjs orders concurrent inserts by client id, so either
  // order is right as long as every tab agrees and nothing is lost.
  await expectText([a, b], /^brian\+ shared line( \+ada \+brian-end| \+brian-end \+ada)ada second paragraph$/, 30_000)
  expect(await docText(a)).toBe(await docText(b))
  await expectSaved(a)
  await expectSaved(b)
  expect(await editor(a).locator('p').count()).toBe(2)
})
