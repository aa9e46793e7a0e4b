import { test, expect, editor, expectLive, expectSaved, expectText, gotoEditor, saveState, typeAtEnd } from '../fixtures.js'

test('reload shows the stored content, also in a browser that never saw it', async ({ openEditor, room }) => {
  const a = await openEditor({ room, name: 'Ada' })
  await typeAtEnd(a, 'Kept on the server.')
  await a.keyboard.press('Enter')
  await a.getByRole('button', { name: 'Heading 2' }).click()
  await a.keyboard.type('And its structure')
  await expectSaved(a)
  await expect(saveState(a)).toHaveText('All changes saved')

  await a.reload()
  await expectLive(a)
  await expectText(a, 'Kept on the server.And its structure')

  // A new browser profile has no local copy: what it shows came from the server's store.
  const fresh = await openEditor({ room, name: 'Newcomer' })
  await expectText(fresh, 'Kept on the server.And its structure')
  await expect(editor(fresh).locator('h2')).toHaveText('And its structure')
})

test('server restart: tabs reconnect by themselves and edits made meanwhile sync', async ({ openEditor, server, room }) => {
  const a = await openEditor({ room, name: 'Ada' })
  const b = await openEditor({ room, name: 'Brian' })
  await typeAtEnd(a, 'before.')
  await expectText(b, 'before.')
  await expectSaved(a)

  // kill -9: what was acknowledged must survive without a graceful shutdown.
  await server.stop('SIGKILL')
  for (const page of [a, b]) await expect(page.locator('.tandem-badge')).toHaveAttribute('data-status', 'offline')

  // Both keep editing while the server is down.
  await typeAtEnd(a, ' ada-offline.')
  await expect(a.locator('.tandem-badge')).toHaveAttribute('data-saved', 'false')
  await expect(saveState(a)).toHaveText('Offline — 1 change kept on this device')
  await editor(b).click()
  await b.keyboard.press('ControlOrMeta+Home')
  await b.keyboard.type('brian-offline ')

  await server.start() // same port, same DATA_DIR
  for (const page of [a, b]) await expectLive(page, 30_000)
  await expectText([a, b], 'brian-offline before. ada-offline.', 30_000)
  await expectSaved(a)
  await expectSaved(b)

  // And the connection is fully usable again.
  await typeAtEnd(b, ' after.')
  await expectText(a, 'brian-offline before. ada-offline. after.')

  // Everything reached the store: a fresh browser after another restart sees it all.
  await server.restart()
  const fresh = await a.context().browser()!.newContext()
  const c = await fresh.newPage()
  await gotoEditor(c, server, { room, name: 'Chen' })
  await expectText(c, 'brian-offline before. ada-offline. after.')
  await fresh.close()
})
