import { fileURLToPath } from 'node:url'
import { test, expect, editor, expectText } from '../fixtures.js'

/**
 * Regenerates docs/screenshot.png (the README's picture): three people in one document,
 * seen from Ada's tab with Grace's caret and Linus's selection visible.
 * Not part of a normal run (playwright.config.ts ignores this file unless asked):
 * `UPDATE_SCREENSHOT=1 pnpm test:e2e screenshot`.
 */
const target = fileURLToPath(new URL('../../docs/screenshot.png', import.meta.url))

test('docs/screenshot.png: two users editing with carets visible', async ({ openEditor, room }) => {
  const ada = await openEditor({ room: `launch-plan-${room.slice(-4)}`, name: 'Ada Lovelace' })
  const roomName = new URL(ada.url()).searchParams.get('room')!
  const grace = await openEditor({ room: roomName, name: 'Grace Hopper' })
  const linus = await openEditor({ room: roomName, name: 'Linus' })

  await editor(ada).click()
  await ada.keyboard.press('ControlOrMeta+Alt+1')
  await ada.keyboard.type('Launch plan\n')
  await ada.keyboard.type('We ship the editor on Friday. Everyone can edit this page at the same time; ')
  await ada.keyboard.type('carets and names show who is where.\n')
  await ada.keyboard.press('ControlOrMeta+Alt+2')
  await ada.keyboard.type('Checklist\n')
  await ada.keyboard.press('ControlOrMeta+Shift+8')
  await ada.keyboard.type('Write the README\nRecord the demo\nInvite the beta testers')
  await expectText([grace, linus], /Invite the beta testers$/)

  // Grace types into the first paragraph.
  await editor(grace).locator('p', { hasText: 'We ship' }).click()
  await grace.keyboard.press('End')
  await grace.keyboard.press('Enter')
  await grace.keyboard.type('Blockers: none so far, ')
  // Linus selects "Record the demo".
  const item = editor(linus).locator('li', { hasText: 'Record the demo' })
  await item.click()
  await linus.keyboard.press('End')
  await linus.keyboard.press('Shift+Home')
  // Ada keeps her caret in the heading.
  await editor(ada).locator('h1').click()

  await expect(ada.locator('.collaboration-carets__label', { hasText: 'Grace Hopper' })).toBeVisible()
  await expect(ada.locator('.collaboration-carets__label', { hasText: 'Linus' })).toBeVisible()
  await expect(ada.locator('.tandem-person')).toHaveCount(3)
  await ada.setViewportSize({ width: 1100, height: 640 })
  await ada.screenshot({ path: target })
})

/** docs/screenshot-mobile.png and docs/screenshot-dark.png: a phone-sized tab, and the dark theme. */
const mobileTarget = fileURLToPath(new URL('../../docs/screenshot-mobile.png', import.meta.url))
const darkTarget = fileURLToPath(new URL('../../docs/screenshot-dark.png', import.meta.url))

async function sampleDocument(ada: import('@playwright/test').Page): Promise<void> {
  await editor(ada).click()
  await ada.keyboard.press('ControlOrMeta+Alt+1')
  await ada.keyboard.insertText('Trip plan')
  await ada.keyboard.press('Enter')
  await ada.keyboard.insertText('Flights are booked; see')
  await ada.keyboard.type(' tandem.example ')
  await ada.keyboard.insertText('for the ')
  await ada.keyboard.press('ControlOrMeta+Shift+H')
  await ada.keyboard.insertText('itinerary')
  await ada.keyboard.press('ControlOrMeta+Shift+H')
  await ada.keyboard.insertText('.')
  await ada.keyboard.press('Enter')
  await ada.keyboard.type('[ ] ')
  await ada.keyboard.insertText('Book the hotel')
  await ada.keyboard.press('Enter')
  await ada.keyboard.insertText('Rent a car')
  await ada.keyboard.press('Enter')
  await ada.keyboard.press('Enter')
  await ada.getByRole('button', { name: 'Insert table' }).click()
  for (const cell of ['Day', 'City', 'Who', 'Mon', 'Lisbon', 'Ada', 'Tue', 'Porto', 'Grace']) {
    await ada.keyboard.insertText(cell)
    await ada.keyboard.press('Tab')
  }
}

test('docs/screenshot-mobile.png: 375 px wide, toolbar scrolls, carets readable', async ({ browser, openEditor, server, room }) => {
  test.slow()
  const grace = await openEditor({ room, name: 'Grace Hopper' })
  const context = await browser.newContext({ viewport: { width: 375, height: 760 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true })
  const ada = await context.newPage()
  await ada.goto(`${server.url}/?room=${room}&name=Ada`)
  await sampleDocument(grace)
  await expectText(ada, /Porto/)
  await editor(grace).locator('li', { hasText: 'Book the hotel' }).click()
  await editor(ada).locator('h1').click()
  await expect(ada.locator('.collaboration-carets__label', { hasText: 'Grace Hopper' })).toBeVisible()
  await ada.screenshot({ path: mobileTarget })
  await context.close()
})

test('docs/screenshot-dark.png: prefers-color-scheme: dark', async ({ browser, openEditor, server, room }) => {
  test.slow()
  const grace = await openEditor({ room, name: 'Grace Hopper' })
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 }, colorScheme: 'dark' })
  const ada = await context.newPage()
  await ada.goto(`${server.url}/?room=${room}&name=Ada`)
  await sampleDocument(grace)
  await expectText(ada, /Porto/)
  await editor(grace).locator('li', { hasText: 'Rent a car' }).click()
  await editor(ada).locator('p', { hasText: 'Flights' }).click()
  await expect(ada.locator('.collaboration-carets__label', { hasText: 'Grace Hopper' })).toBeVisible()
  await ada.screenshot({ path: darkTarget })
  await context.close()
})
