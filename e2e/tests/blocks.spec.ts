import { test, expect, editor, expectTexts, POLL } from '../fixtures.js'
import type { Page } from '@playwright/test'

/** The checked state of every task item in the editor. */
const checks = (page: Page, root = '.ProseMirror') =>
  page.locator(root).first().evaluate((el) => [...el.querySelectorAll('ul[data-type="taskList"] > li')].map((li) => li.getAttribute('data-checked')))

test('task lists: `[ ] ` and the toolbar make one, a click ticks it; highlight and divider; all seen in another tab', async ({ openEditor, room }) => {
  test.slow() // many keystrokes in two tabs: a loaded 2-core machine needs more than the default
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  await editor(a).click()

  // Markdown shortcut.
  await a.keyboard.type('[ ] buy milk')
  await a.keyboard.press('Enter')
  await a.keyboard.type('call Bob')
  await expectTexts(b, 'ul[data-type="taskList"] > li > div', ['buy milk', 'call Bob'])
  await expect(a.getByRole('button', { name: 'Task list' })).toHaveAttribute('aria-pressed', 'true')

  // Tick the second one in Brian's tab: Ada sees it.
  await editor(b).locator('ul[data-type="taskList"] > li', { hasText: 'call Bob' }).getByRole('checkbox').check()
  await expect.poll(() => checks(a), { intervals: [...POLL] }).toEqual(['false', 'true'])

  // Leave the list; highlight via the toolbar; a divider via `---`.
  await a.keyboard.press('Enter')
  await a.keyboard.press('Enter')
  await a.getByRole('button', { name: 'Highlight' }).click()
  await a.keyboard.type('important')
  await a.getByRole('button', { name: 'Highlight' }).click()
  await a.keyboard.press('Enter')
  await a.keyboard.type('---')
  await a.keyboard.type('after')
  await a.getByRole('button', { name: 'Divider' }).click()
  await expectTexts(b, 'mark', ['important'])
  await expect(editor(b).locator('hr')).toHaveCount(2)

  // The toolbar turns a paragraph into a task item too.
  await a.keyboard.type('via toolbar')
  await a.getByRole('button', { name: 'Task list' }).click()
  await expectTexts(b, 'ul[data-type="taskList"] > li > div', ['buy milk', 'call Bob', 'via toolbar'])
})

test('tables: insert, Tab between cells (a new row at the end), add and delete rows and columns, header row; seen in another tab', async ({ openEditor, room }) => {
  test.slow() // many keystrokes in two tabs: a loaded 2-core machine needs more than the default
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  await editor(a).click()
  const tool = (name: string) => a.getByRole('button', { name, exact: true })

  // The table tools show only inside a table.
  await expect(tool('Add row below')).toBeHidden()
  await tool('Insert table').click()
  await expect(tool('Add row below')).toBeVisible()
  await expect(editor(b).locator('table tr')).toHaveCount(3)
  await expect(editor(b).locator('table tr').first().locator('th')).toHaveCount(3)

  // Type across the header row and the first body row with Tab.
  for (const cell of ['Name', 'Role', 'Team', 'Ada', 'Math', 'Core']) {
    await a.keyboard.type(cell)
    await a.keyboard.press('Tab')
  }
  await expectTexts(b, 'th', ['Name', 'Role', 'Team'])
  await expectTexts(b, 'tr:nth-child(2) td', ['Ada', 'Math', 'Core'])
  // Shift+Tab goes back a cell (selecting its text); End, then type.
  await a.keyboard.press('Shift+Tab')
  await a.keyboard.press('End')
  await a.keyboard.type('!')
  await expectTexts(b, 'tr:nth-child(2) td', ['Ada', 'Math', 'Core!'])

  // Rows and columns.
  await tool('Add row below').click()
  await expect(editor(b).locator('table tr')).toHaveCount(4)
  await tool('Add column right').click()
  await expect(editor(b).locator('table tr').first().locator('th')).toHaveCount(4)
  await tool('Delete column').click()
  await expect(editor(b).locator('table tr').first().locator('th')).toHaveCount(3)
  await tool('Delete row').click()
  await expect(editor(b).locator('table tr')).toHaveCount(3)

  // Header row off and on.
  await tool('Header row').click()
  await expect(editor(b).locator('th')).toHaveCount(0)
  await tool('Header row').click()
  // "Delete column" removed the caret's column (Team); the added one is empty.
  await expectTexts(b, 'th', ['Name', 'Role', ''])

  // Delete the table: the tools go away.
  await tool('Delete table').click()
  await expect(editor(b).locator('table')).toHaveCount(0)
  await expect(tool('Add row below')).toBeHidden()
})

test('task lists and tables in the embeddable editor: made in mountEditor(), seen and ticked in <collab-editor>', async ({ browser, server, room }) => {
  test.slow() // many keystrokes in two tabs: a loaded 2-core machine needs more than the default
  const context = await browser.newContext()
  const embed = await context.newPage()
  await embed.goto(`${server.url}/embed.html?room=${room}`)
  await expect(embed.locator('.tandem-badge[data-status="live"]')).toHaveCount(2)
  const left = embed.locator('#left .ProseMirror')
  await left.click()
  await embed.keyboard.type('[ ] embedded task')
  await embed.keyboard.press('Enter')
  await embed.keyboard.press('Enter')
  await embed.locator('#left').getByRole('button', { name: 'Insert table' }).click()
  await embed.keyboard.type('cell')
  const right = embed.locator('collab-editor .ProseMirror')
  await expect(right.locator('th').first()).toHaveText(/^cell/) // Ada's caret label may follow
  await right.locator('ul[data-type="taskList"] > li').getByRole('checkbox').check()
  await expect.poll(() => checks(embed, '#left .ProseMirror'), { intervals: [...POLL] }).toEqual(['true'])
  await context.close()
})
