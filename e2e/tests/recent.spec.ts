import { test, expect, editor, expectLive } from '../fixtures.js'

test('recent documents: rooms opened in this browser are listed with their titles on the start page and open again', async ({ browser, server, room }) => {
  test.slow()
  const context = await browser.newContext()
  const page = await context.newPage()
  // Two documents with titles, one after the other, in one browser.
  for (const [r, title] of [
    [`${room}-a`, 'Budget 2027'],
    [`${room}-b`, 'Trip plan'],
  ] as const) {
    await page.goto(`${server.url}/?room=${r}&name=Ada`)
    await expectLive(page)
    await editor(page).click()
    await page.keyboard.press('ControlOrMeta+Alt+1')
    await page.keyboard.type(title)
    await expect(page).toHaveTitle(`${title} · Tandem`)
  }
  // A fresh start (no room): the list opens, newest first, without the document shown now.
  await page.goto(`${server.url}/?name=Ada`)
  await expectLive(page)
  const list = page.locator('#recent-list')
  await expect(list).toBeVisible()
  await expect(list.locator('.recent-title')).toHaveText(['Trip plan', 'Budget 2027'])
  await list.getByRole('link', { name: /Budget 2027/ }).click()
  await expect(page).toHaveURL(new RegExp(`room=${room}-a`))
  await expectLive(page)
  await expect(page).toHaveTitle('Budget 2027 · Tandem')
  // In a document the list is a menu: closed until asked, Escape closes it.
  await expect(list).toBeHidden()
  await page.getByText('Recent', { exact: true }).click()
  await expect(list.locator('.recent-title')).toHaveText(['Trip plan'])
  await page.keyboard.press('Escape')
  await expect(list).toBeHidden()
  await context.close()
})
