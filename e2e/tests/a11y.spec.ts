import AxeBuilder from '@axe-core/playwright'
import type { Page } from '@playwright/test'
import { test, expect, editor, expectLive, expectSelected, expectTexts } from '../fixtures.js'

/** axe-core's serious and critical findings on the page as it is now, one line each. */
async function seriousViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze()
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
}

test('axe: no serious or critical violations on the editor page (with a link box, a table, a task list) and /embed.html, light and dark', async ({ openEditor, browser, server, room }) => {
  test.slow()
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  await editor(a).click()
  await a.keyboard.type('# Title\n[ ] a task\n\n')
  await a.getByRole('button', { name: 'Insert table' }).click()
  await a.keyboard.type('cell')
  await editor(b).click()
  await b.keyboard.press('ControlOrMeta+Home')
  await b.keyboard.press('ControlOrMeta+k')
  await expect(b.getByRole('textbox', { name: 'Link address' })).toBeFocused()
  expect(await seriousViolations(a)).toEqual([])
  expect(await seriousViolations(b)).toEqual([])
  await a.emulateMedia({ colorScheme: 'dark' })
  expect(await seriousViolations(a)).toEqual([])

  const context = await browser.newContext()
  const embed = await context.newPage()
  await embed.goto(`${server.url}/embed.html?room=${room}`)
  await expect(embed.locator('.tandem-badge[data-status="live"]')).toHaveCount(2)
  await expect(embed.locator('#left .ProseMirror table')).toHaveCount(1)
  expect(await seriousViolations(embed)).toEqual([])
  await embed.emulateMedia({ colorScheme: 'dark' })
  expect(await seriousViolations(embed)).toEqual([])
  await context.close()
})

test('keyboard: Alt+F10 reaches the toolbar, arrows move, Enter applies, Escape returns to the text; buttons are labelled; focus is visible', async ({ openEditor, room }) => {
  test.slow()
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  const pm = editor(a)
  await pm.click()
  await a.keyboard.type('word')
  await a.keyboard.press('Shift+Home')
  // The editor has taken the keys (a loaded browser applies them later than Playwright sends them).
  await expectSelected(a, 'word')
  await a.keyboard.press('Alt+F10')
  const bold = a.getByRole('button', { name: 'Bold' })
  await expect(bold).toBeFocused()
  // One tab stop: every other button is out of the tab order.
  expect(await a.locator('.tandem-tool[tabindex="0"]').count()).toBe(1)
  // A visible focus ring.
  expect(await bold.evaluate((el) => getComputedStyle(el).outlineStyle)).not.toBe('none')
  await a.keyboard.press('ArrowRight')
  await expect(a.getByRole('button', { name: 'Italic' })).toBeFocused()
  await a.keyboard.press('Enter')
  await expectTexts(b, 'em', ['word'])
  // Running a command puts focus back in the text.
  await expect(pm).toBeFocused()
  await a.keyboard.press('Alt+F10')
  // The tab stop remembers the last button used.
  await expect(a.getByRole('button', { name: 'Italic' })).toBeFocused()
  await a.keyboard.press('End')
  await expect(a.getByRole('button', { name: 'Print or save as PDF' })).toBeFocused()
  await a.keyboard.press('Escape')
  await expect(pm).toBeFocused()
  // Tab from the name field reaches the toolbar, then the text.
  await a.getByRole('textbox', { name: 'Your name' }).focus()
  await a.keyboard.press('Tab')
  await expect(a.getByRole('button', { name: 'Print or save as PDF' })).toBeFocused()
  await a.keyboard.press('Tab')
  await expect(pm).toBeFocused()
  // Every toolbar button has a name.
  const unnamed = await a.locator('.tandem-tool').evaluateAll((els) => els.filter((e) => !e.getAttribute('aria-label')).length)
  expect(unnamed).toBe(0)
  await expectLive(b)
})
