import { test, expect, editor, expectText, typeAtEnd } from '../fixtures.js'
import type { Page } from '@playwright/test'

const names = (page: Page) => page.locator('#presence .tandem-person-name')

test('the presence list shows everyone, and a closed tab disappears from it', async ({ openEditor, room }) => {
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  const c = await openEditor({ room, name: 'Chen' })

  // The local user first (marked "you"), then the others alphabetically.
  await expect(names(a)).toHaveText(['Ada', 'Brian', 'Chen'])
  await expect(names(b)).toHaveText(['Brian', 'Ada', 'Chen'])
  await expect(names(c)).toHaveText(['Chen', 'Ada', 'Brian'])
  await expect(a.locator('#presence [data-self]')).toContainText('(you)')

  await c.close()
  await expect(names(a)).toHaveText(['Ada', 'Brian'])
  await expect(names(b)).toHaveText(['Brian', 'Ada'])
})

test('renaming yourself updates the presence list and the caret label for others', async ({ openEditor, room }) => {
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  // (y-tiptap draws no remote carets in a document that has never had content.)
  await typeAtEnd(a, 'hello')
  await expectText(b, 'hello')
  await editor(b).click()
  await expect(a.locator('.collaboration-carets__label')).toHaveText('Brian')

  const input = b.getByRole('textbox', { name: 'Your name' })
  await expect(input).toHaveValue('Brian')
  await input.fill('Brian K.')
  await input.press('Enter')
  await expect(names(a)).toHaveText(['Ada', 'Brian K.'])
  await expect(a.locator('.collaboration-carets__label')).toHaveText('Brian K.')
  // The name is remembered: the next visit without ?name= uses it.
  await b.goto(b.url().replace(/([?&])name=[^&]*&?/, '$1'))
  await expect(b.getByRole('textbox', { name: 'Your name' })).toHaveValue('Brian K.')
})
