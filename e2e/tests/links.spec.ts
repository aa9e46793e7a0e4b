import type { Locator, Page } from '@playwright/test'
import { test, expect, editor, expectSelected, expectTexts, POLL } from '../fixtures.js'

/** href of every link in the editor, in document order. */
const hrefs = (page: Page, root = '.ProseMirror') => page.locator(root).first().evaluate((el) => [...el.querySelectorAll('a')].map((a) => a.getAttribute('href')))

/** Fires a real paste event with this clipboard content at the focused editor. */
async function paste(page: Page, data: Record<string, string>, target: Locator): Promise<void> {
  await target.evaluate((el, d) => {
    const dt = new DataTransfer()
    for (const [type, value] of Object.entries(d)) dt.setData(type, value)
    el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }))
  }, data)
}

test('links: typed and pasted URLs become links; Ctrl/⌘ K adds and edits one; the box opens, edits and removes it; all seen in another tab', async ({ openEditor, room }) => {
  test.slow() // many keystrokes in two tabs: a loaded 2-core machine needs more than the default
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  const pm = editor(a)
  await pm.click()

  // Autolink: a URL followed by a space.
  await a.keyboard.type('See example.com and ')
  await expectTexts(b, 'a', ['example.com'])
  expect(await hrefs(b)).toEqual(['https://example.com'])

  // Paste a URL: linked (linkOnPaste / paste rule).
  await paste(a, { 'text/plain': 'https://tandem.example/docs' }, pm)
  await expectTexts(b, 'a', ['example.com', 'https://tandem.example/docs'])

  // Ctrl/⌘ K with a selection: the field opens; Enter applies.
  await a.keyboard.type(' then some words')
  await a.keyboard.press('Shift+ArrowLeft')
  await a.keyboard.press('Shift+ArrowLeft')
  await a.keyboard.press('Shift+ArrowLeft')
  await a.keyboard.press('Shift+ArrowLeft')
  await a.keyboard.press('Shift+ArrowLeft')
  // The editor has taken the keys (a loaded browser applies them later than Playwright sends them).
  await expectSelected(a, 'words')
  await a.keyboard.press('ControlOrMeta+k')
  const field = a.getByRole('textbox', { name: 'Link address' })
  await expect(field).toBeFocused()
  await field.fill('mailto:ada@example.com')
  await field.press('Enter')
  await expectTexts(b, 'a', ['example.com', 'https://tandem.example/docs', 'words'])
  expect(await hrefs(b)).toEqual(['https://example.com', 'https://tandem.example/docs', 'mailto:ada@example.com'])

  // An unsafe target is refused with a message, nothing changes.
  await pm.locator('a', { hasText: 'words' }).click()
  const box = a.getByTestId('link-popover')
  await expect(box.getByRole('link')).toHaveAttribute('href', 'mailto:ada@example.com')
  await box.getByRole('button', { name: 'Edit link' }).click()
  await expect(field).toHaveValue('mailto:ada@example.com')
  await field.fill('javascript:alert(document.cookie)')
  await field.press('Enter')
  await expect(a.getByRole('alert')).toContainText('Only web')
  await expect(field).toHaveAttribute('aria-invalid', 'true')
  // Edit to a bare host: https:// is added.
  await field.fill('docs.example.org/start')
  await field.press('Enter')
  await expect.poll(() => hrefs(b), { intervals: [...POLL] }).toEqual(['https://example.com', 'https://tandem.example/docs', 'https://docs.example.org/start'])
  // The box shows the link with "open" going to a new tab.
  await expect(box.getByRole('link')).toHaveAttribute('href', 'https://docs.example.org/start')
  await expect(box.getByRole('link')).toHaveAttribute('target', '_blank')

  // Remove: the text stays, the link goes, in both tabs.
  await box.getByRole('button', { name: 'Remove link' }).click()
  await expectTexts(b, 'a', ['example.com', 'https://tandem.example/docs'])
  await expectTexts(b, 'p', ['See example.com and https://tandem.example/docs then some words'])

  // The toolbar's Link button on an empty selection inserts the address as linked text.
  await a.keyboard.press('ControlOrMeta+End')
  await a.keyboard.type(' ')
  await a.getByRole('button', { name: 'Link', exact: true }).click()
  await field.fill('https://last.example')
  await field.press('Enter')
  await expectTexts(b, 'a', ['example.com', 'https://tandem.example/docs', 'https://last.example'])

  // Escape closes the field and puts the caret back in the text.
  await a.keyboard.press('ControlOrMeta+k')
  await expect(field).toBeFocused()
  await a.keyboard.press('Escape')
  await expect(pm).toBeFocused()
})

test('links: pasted HTML keeps safe links and drops javascript: ones; the other tab gets only safe links', async ({ openEditor, room }) => {
  test.slow() // many keystrokes in two tabs: a loaded 2-core machine needs more than the default
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  const pm = editor(a)
  await pm.click()
  await paste(a, { 'text/html': '<p><a href="https://ok.example">good</a> and <a href="javascript:alert(1)">bad</a> and <a href="data:text/html,x">data</a></p>', 'text/plain': 'good and bad and data' }, pm)
  await expectTexts(b, 'p', ['good and bad and data'])
  expect(await hrefs(b)).toEqual(['https://ok.example'])
})

test('links in the embeddable editor: autolink and Ctrl/⌘ K in <collab-editor>, seen in mountEditor()', async ({ browser, server, room }) => {
  test.slow() // many keystrokes in two tabs: a loaded 2-core machine needs more than the default
  const context = await browser.newContext()
  const embed = await context.newPage()
  await embed.goto(`${server.url}/embed.html?room=${room}`)
  await expect(embed.locator('.tandem-badge[data-status="live"]')).toHaveCount(2)
  const right = embed.locator('collab-editor .ProseMirror')
  await right.click()
  await embed.keyboard.type('Visit tandem.example now ')
  await embed.keyboard.press('Shift+Home')
  await expectSelected(embed, 'Visit tandem.example now ', right)
  await embed.keyboard.press('ControlOrMeta+k')
  const field = embed.locator('collab-editor').getByRole('textbox', { name: 'Link address' })
  await expect(field).toBeFocused()
  await field.fill('https://whole.example')
  await field.press('Enter')
  await expect.poll(() => hrefs(embed, '#left .ProseMirror'), { intervals: [...POLL] }).toEqual(['https://whole.example'])
  await context.close()
})
