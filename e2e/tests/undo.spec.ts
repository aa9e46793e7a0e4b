import { test, expect, editor, expectText, typeAtEnd } from '../fixtures.js'

test("local undo reverts only my edits and leaves the other user's intact", async ({ openEditor, room }) => {
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })

  await typeAtEnd(a, 'Ada one.')
  await expectText(b, 'Ada one.')
  await typeAtEnd(b, ' Brian two.')
  await expectText(a, 'Ada one. Brian two.')
  await typeAtEnd(a, ' Ada three.')
  await expectText(b, 'Ada one. Brian two. Ada three.')

  // Ada undoes everything she can (Ctrl/Cmd+Z): only her text goes, Brian's stays everywhere.
  const undo = a.getByRole('button', { name: 'Undo' })
  await expect(undo).toBeEnabled()
  for (let i = 0; i < 10 && (await undo.isEnabled()); i++) await a.keyboard.press('ControlOrMeta+Z')
  await expect(undo).toBeDisabled()
  await expectText([a, b], ' Brian two.')

  // Redo (toolbar) brings hers back. Her two phrases are one or two undo steps depending on
  // timing (Yjs groups edits less than 500 ms apart), so accept either.
  await a.getByRole('button', { name: 'Redo' }).click()
  await expectText([a, b], /^Ada one\. Brian two\.( Ada three\.)?$/)

  // Brian's undo removes only his sentence.
  await editor(b).click()
  await b.keyboard.press('ControlOrMeta+Z')
  await expectText([a, b], /^Ada one\.( Ada three\.)?$/)
})
