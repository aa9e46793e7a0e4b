import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Page, WebSocket } from '@playwright/test'
import { test, expect, docText, editor, expectText, typeAtEnd, POLL } from '../fixtures.js'

/** Records the page's WebSockets so a test can tell which are still open. */
function trackSockets(page: Page): WebSocket[] {
  const sockets: WebSocket[] = []
  page.on('websocket', (ws) => sockets.push(ws))
  return sockets
}
/** What the customer page below keeps on `window`: the handle mountEditor() returned. */
interface CustomerWindow {
  mounted: { doc: { getXmlFragment(name: string): { toString(): string } }; destroy(): void }
}

const openCount = (sockets: WebSocket[]) => sockets.filter((ws) => !ws.isClosed()).length

test('/embed.html: both embedded editors sync with each other and with a normal tab', async ({ browser, server, openEditor, room }) => {
  const context = await browser.newContext()
  const embed = await context.newPage()
  const sockets = trackSockets(embed)
  await embed.goto(`${server.url}/embed.html?room=${room}`)
  const left = embed.locator('#left .ProseMirror')
  const right = embed.locator('collab-editor .ProseMirror')
  await expect(embed.locator('#left .tandem-badge')).toHaveAttribute('data-status', 'live')
  await expect(embed.locator('collab-editor .tandem-badge')).toHaveAttribute('data-status', 'live')
  expect(openCount(sockets)).toBe(1) // both editors share one socket (tandem-mux-v1)

  const page = await openEditor({ room, name: 'Tab' })
  // left → right and tab
  await left.click()
  await embed.keyboard.type('from the left.')
  await expectText(page, 'from the left.')
  await expect.poll(() => docText(embed, 'collab-editor .ProseMirror'), { intervals: [...POLL] }).toBe('from the left.')
  // right → left and tab
  await right.click()
  await embed.keyboard.press('ControlOrMeta+End')
  await embed.keyboard.type(' from the right.')
  await expectText(page, 'from the left. from the right.')
  // tab → both embedded editors
  await typeAtEnd(page, ' from the tab.')
  for (const root of ['#left .ProseMirror', 'collab-editor .ProseMirror']) {
    await expect.poll(() => docText(embed, root), { intervals: [...POLL] }).toBe('from the left. from the right. from the tab.')
  }
  // Each embedded editor lists the other two people.
  await expect(embed.locator('#left .tandem-person-name')).toHaveText(['Ada (embed)', 'Grace (embed)', 'Tab'])
  await expect(page.locator('#presence .tandem-person-name')).toHaveText(['Tab', 'Ada (embed)', 'Grace (embed)'])

  // destroy() / removing the element leaves no socket behind, and the others see them leave.
  // Removing one editor closes its room on the shared socket, not the socket.
  await embed.getByRole('button', { name: 'Remove' }).first().click()
  await expect(page.locator('#presence .tandem-person-name')).toHaveText(['Tab', 'Grace (embed)'])
  expect(openCount(sockets)).toBe(1)
  await typeAtEnd(page, ' still')
  await expect.poll(() => docText(embed, 'collab-editor .ProseMirror'), { intervals: [...POLL] }).toBe('from the left. from the right. from the tab. still')
  await embed.getByRole('button', { name: 'Remove' }).click()
  await expect.poll(() => openCount(sockets), { intervals: [...POLL] }).toBe(0)
  await expect(page.locator('#presence .tandem-person-name')).toHaveText(['Tab'])
  await expect(embed.locator('.tandem')).toHaveCount(0)

  // Mounting again joins the same document.
  await embed.getByRole('button', { name: 'Add' }).first().click()
  await expect.poll(() => docText(embed, '#left .ProseMirror'), { intervals: [...POLL] }).toBe('from the left. from the right. from the tab. still')
  await context.close()
})

test('the standalone library build works on a page of another origin', async ({ browser, server, room, openEditor }) => {
  const lib = fileURLToPath(new URL('../../apps/editor/dist-lib/tandem-editor.js', import.meta.url))
  const context = await browser.newContext()
  const page = await context.newPage()
  // A customer's site: its own little web server (another origin), with the library file copied
  // next to its page. (Served for real rather than via page.route: Chromium's Local Network
  // Access checks block a page without a network address from reaching 127.0.0.1.)
  const html = `<!doctype html><meta charset="utf-8"><title>Customer</title>
    <h1>Our product</h1>
    <collab-editor server="${server.wsUrl}" room="${room}" user-name="Element User" user-color="#2f9e44"></collab-editor>
    <div id="fn"></div>
    <script type="module">
      import { mountEditor } from './tandem-editor.js'
      window.mounted = mountEditor(document.getElementById('fn'), {
        url: '${server.wsUrl}', room: '${room}', user: { name: 'Function User', color: '#1c7ed6' },
      })
    </script>`
  const site = createServer((req, res) => {
    if (req.url === '/tandem-editor.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(lib))
    } else res.writeHead(200, { 'content-type': 'text/html' }).end(html)
  })
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
  const origin = `http://localhost:${(site.address() as AddressInfo).port}`
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
  await page.goto(`${origin}/`)
  await expect(page.locator('.tandem-badge[data-status=live]')).toHaveCount(2)
  expect(errors).toEqual([])
  const tab = await openEditor({ room, name: 'Tab' })
  await expect(tab.locator('#presence .tandem-person-name')).toHaveText(['Tab', 'Element User', 'Function User'])
  await page.locator('collab-editor .ProseMirror').click()
  await page.keyboard.type('typed on a customer page')
  await expectText(tab, 'typed on a customer page')
  // The function's handle exposes the Y.Doc: the text lives in the 'default' XmlFragment.
  await expect
    .poll(() => page.evaluate(() => (window as unknown as CustomerWindow).mounted.doc.getXmlFragment('default').toString()), { intervals: [...POLL] })
    .toBe('<paragraph>typed on a customer page</paragraph>')
  await page.evaluate(() => (window as unknown as CustomerWindow).mounted.destroy())
  await expect(tab.locator('#presence .tandem-person-name')).toHaveText(['Tab', 'Element User'])
  await expect(editor(page)).toHaveCount(1)
  await context.close()
  await new Promise((resolve) => site.close(resolve))
})
