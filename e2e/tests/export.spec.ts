import { readFileSync } from 'node:fs'
import type { Locator, Page } from '@playwright/test'
import { test, expect, editor, expectTexts } from '../fixtures.js'

/** Fires a real paste event carrying only plain text (what a Markdown file or a terminal gives). */
async function pastePlain(target: Locator, text: string): Promise<void> {
  await target.evaluate((el, t) => {
    const dt = new DataTransfer()
    dt.setData('text/plain', t)
    el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }))
  }, text)
}

async function downloaded(page: Page, scope: Page | Locator, button: string): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), scope.getByRole('button', { name: button }).click()])
  const path = await download.path()
  return { name: download.suggestedFilename(), text: readFileSync(path, 'utf8') }
}

const MARKDOWN = `# Release notes

Some **bold** and a [link](https://example.com) and ==marked==.

- [ ] write docs
- [x] ship

| Name | Role |
| --- | --- |
| Ada | Math |
`

test('paste Markdown → formatted in both tabs; download it back as Markdown and HTML; the tab title is the first heading', async ({ openEditor, room }) => {
  test.slow() // many keystrokes in two tabs: a loaded 2-core machine needs more than the default
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  const pm = editor(a)
  await pm.click()
  await pastePlain(pm, MARKDOWN)
  await expectTexts(b, 'h1', ['Release notes'])
  await expectTexts(b, 'strong', ['bold'])
  await expectTexts(b, 'a', ['link'])
  await expectTexts(b, 'mark', ['marked'])
  await expectTexts(b, 'ul[data-type="taskList"] > li > div', ['write docs', 'ship'])
  await expectTexts(b, 'th', ['Name', 'Role'])
  // Title: both tabs, from the first heading.
  await expect(a).toHaveTitle('Release notes · Tandem')
  await expect(b).toHaveTitle('Release notes · Tandem')

  // A paste that does not look like Markdown stays plain text.
  await pm.locator('p', { hasText: 'Some bold' }).click()
  await a.keyboard.press('End')
  await a.keyboard.press('Enter')
  await pastePlain(pm, 'Just a sentence, 2 * 3 = 6.')
  await expectTexts(b, ':scope > p', ['Some bold and a link and marked.', 'Just a sentence, 2 * 3 = 6.'])

  // Markdown download, from Brian's tab: the same Markdown the server's API writes.
  const md = await downloaded(b, b, 'Download as Markdown')
  expect(md.name).toBe('release-notes.md')
  for (const piece of ['# Release notes', '**bold**', '[link](https://example.com)', '==marked==', '- [ ] write docs', '- [x] ship', '| Name | Role |', 'Just a sentence, 2 ']) {
    expect(md.text, piece).toContain(piece)
  }
  const html = await downloaded(b, b, 'Download as HTML')
  expect(html.name).toBe('release-notes.html')
  for (const piece of ['<title>Release notes</title>', '<h1>Release notes</h1>', '<strong>bold</strong>', 'href="https://example.com"', '<mark>marked</mark>', 'data-type="taskList"', '<th']) {
    expect(html.text, piece).toContain(piece)
  }
  expect(html.text).not.toContain('<script')
})

test('print: the print stylesheet shows the document only; the Print button opens the browser dialog', async ({ openEditor, room }) => {
  test.slow() // many keystrokes in two tabs: a loaded 2-core machine needs more than the default
  const a = await openEditor({ room, name: 'Ada' })
  await editor(a).click()
  await a.keyboard.type('Printable text')
  await a.emulateMedia({ media: 'print' })
  await expect(a.getByRole('toolbar', { name: 'Formatting' })).toBeHidden()
  await expect(a.locator('.app-header')).toBeHidden()
  await expect(editor(a)).toContainText('Printable text')
  // A PDF renders (headless Chromium's print path).
  const pdf = await a.pdf()
  expect(pdf.subarray(0, 5).toString()).toBe('%PDF-')
  await a.emulateMedia({ media: 'screen' })
  // The dialog itself is the browser's; the page only has to ask for it.
  await a.evaluate(() => {
    ;(window as unknown as { printed: number }).printed = 0
    window.print = () => void (window as unknown as { printed: number }).printed++
  })
  await a.getByRole('button', { name: 'Print or save as PDF' }).click()
  expect(await a.evaluate(() => (window as unknown as { printed: number }).printed)).toBe(1)
})

test('the embeddable editor: Markdown paste and download in <collab-editor>, title event, seen in mountEditor()', async ({ browser, server, room }) => {
  test.slow() // many keystrokes in two tabs: a loaded 2-core machine needs more than the default
  const context = await browser.newContext()
  const embed = await context.newPage()
  await embed.goto(`${server.url}/embed.html?room=${room}`)
  await expect(embed.locator('.tandem-badge[data-status="live"]')).toHaveCount(2)
  const right = embed.locator('collab-editor .ProseMirror')
  await right.click()
  await pastePlain(right, '## Embedded title\n\n- one\n- two\n')
  await expect(embed.locator('#left .ProseMirror h2')).toHaveText('Embedded title')
  await expect(embed.locator('#left .ProseMirror li')).toHaveText(['one', /^two/]) // Grace's caret label may follow
  // Titles: the element's titlechange event (shown in its pane), the function's onTitleChange (the tab).
  await expect(embed.getByTestId('element-title')).toHaveText('Embedded title')
  await expect(embed).toHaveTitle('Embedded title · Tandem embed demo')
  const md = await downloaded(embed, embed.locator('#left'), 'Download as Markdown')
  expect(md.name).toBe('embedded-title.md')
  expect(md.text).toContain('## Embedded title\n\n- one\n- two')
  await context.close()
})
