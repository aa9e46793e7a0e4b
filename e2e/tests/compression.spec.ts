import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import type { Browser, Page } from '@playwright/test'
import { test, expect, TandemServer, docText, gotoEditor, typeAtEnd, POLL } from '../fixtures.js'

/** A new user's page whose WebSocket handshake answers are recorded (Chromium's network log, over CDP). */
async function recordedPage(browser: Browser): Promise<{ page: Page; extensions: string[] }> {
  const context = await browser.newContext()
  const page = await context.newPage()
  const cdp = await context.newCDPSession(page)
  await cdp.send('Network.enable')
  const extensions: string[] = []
  cdp.on('Network.webSocketHandshakeResponseReceived', (e) => {
    const headers = e.response.headers as Record<string, string>
    const name = Object.keys(headers).find((h) => h.toLowerCase() === 'sec-websocket-extensions')
    extensions.push(name ? headers[name]! : '')
  })
  return { page, extensions }
}

const prose = (chars: number) => {
  const words = ['Tandem', 'compresses', 'a', 'large', 'document', 'once', 'for', 'every', 'reader', 'that', 'asked']
  let s = ''
  for (let i = 0; s.length < chars; i++) s += words[(i * 5 + (i >> 2)) % words.length] + ' '
  return s.trimEnd()
}

test('WS_COMPRESSION=on: Chromium negotiates permessage-deflate, and edits, a large paste and a late joiner all sync', async ({ browser, room }) => {
  const server = new TandemServer({ WS_COMPRESSION: 'on' })
  await server.start()
  try {
    const a = await recordedPage(browser)
    const b = await recordedPage(browser)
    await gotoEditor(a.page, server, { room, name: 'Ada' })
    await gotoEditor(b.page, server, { room, name: 'Brian' })
    for (const p of [a, b]) {
      expect(p.extensions[0]).toMatch(/^permessage-deflate\b/)
      expect(p.extensions[0]).toContain('server_no_context_takeover')
      expect(p.extensions[0]).toContain('client_no_context_takeover')
    }

    // Keystrokes (below the threshold: plain frames) and a 30 KB paste (one compressed broadcast).
    await typeAtEnd(a.page, 'Typed first. ')
    await expect.poll(() => docText(b.page), { intervals: [...POLL] }).toBe('Typed first. ')
    const big = prose(30_000)
    await a.page.keyboard.insertText(big)
    const whole = `Typed first. ${big}`
    await expect.poll(() => docText(b.page), { intervals: [...POLL], timeout: 30_000 }).toBe(whole)
    await typeAtEnd(b.page, ' Brian.')

    // A late joiner gets the whole document as one compressed step 2, decoded by Chromium.
    const c = await recordedPage(browser)
    await gotoEditor(c.page, server, { room, name: 'Chen' })
    expect(c.extensions[0]).toMatch(/^permessage-deflate\b/)
    await expect.poll(() => docText(c.page), { intervals: [...POLL], timeout: 30_000 }).toBe(`${whole} Brian.`)

    // The same reply to ws' own client: the document arrives in far fewer bytes than its text.
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(server.wsUrl, room, doc, { WebSocketPolyfill: WebSocket as never, disableBc: true })
    try {
      await expect.poll(() => doc.getXmlFragment('default').toString().includes(big.slice(-100)), { intervals: [...POLL] }).toBe(true)
      expect(provider.ws?.extensions).toBe('permessage-deflate')
      const bytesRead = (provider.ws as unknown as { _socket: { bytesRead: number } })._socket.bytesRead
      expect(bytesRead).toBeLessThan(big.length / 2)
    } finally {
      provider.destroy()
      doc.destroy()
    }
    for (const p of [a, b, c]) await p.page.context().close()
  } finally {
    await server.dispose()
  }
})
