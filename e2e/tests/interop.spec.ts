import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { test, expect, expectText, typeAtEnd, POLL } from '../fixtures.js'

test("a Node y-websocket client sees the browser's text in XmlFragment 'default', and vice versa", async ({ openEditor, server, room }) => {
  const page = await openEditor({ room, name: 'Ada' })
  await typeAtEnd(page, 'typed in ')
  await page.keyboard.press('ControlOrMeta+B')
  await page.keyboard.type('Chromium')

  const doc = new Y.Doc()
  // The stock client, unchanged: README promises any stock Yjs client works against the server.
  const provider = new WebsocketProvider(server.wsUrl, room, doc, { WebSocketPolyfill: WebSocket as never })
  try {
    const fragment = doc.getXmlFragment('default')
    await expect.poll(() => fragment.toString(), { intervals: [...POLL] }).toBe('<paragraph>typed in <bold>Chromium</bold></paragraph>')

    // Node writes a paragraph and announces itself; the browser shows both.
    provider.awareness.setLocalStateField('user', { name: 'Node bot', color: '#495057' })
    doc.transact(() => {
      const p = new Y.XmlElement('paragraph')
      p.insert(0, [new Y.XmlText('written by Node')])
      fragment.push([p])
    })
    await expectText(page, 'typed in Chromiumwritten by Node')
    await expect(page.locator('#presence .tandem-person-name')).toHaveText(['Ada', 'Node bot'])
  } finally {
    provider.destroy()
    doc.destroy()
  }
  await expect(page.locator('#presence .tandem-person-name')).toHaveText(['Ada'])
})
