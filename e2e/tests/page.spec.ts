import { test, expect, editor, expectLive, expectText, typeAtEnd } from '../fixtures.js'

test('no ?room= creates a fresh room and puts it in the address bar; "Copy link" copies it', async ({ browser, server }) => {
  const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] })
  const page = await context.newPage()
  await page.goto(`${server.url}/?name=Ada`)
  await expectLive(page)
  const room = new URL(page.url()).searchParams.get('room')
  expect(room).toMatch(/^[a-z0-9]{12}$/)
  await expect(page.locator('#room-name')).toHaveText(room!)
  await expect(page).toHaveTitle(`${room} · Tandem`)

  await page.getByRole('button', { name: 'Copy link' }).click()
  await expect(page.getByRole('button', { name: 'Copied' })).toBeVisible()
  const copied = await page.evaluate(() => navigator.clipboard.readText())
  // The share link names the room but not the sender.
  expect(copied).toBe(`${server.url}/?room=${room}`)

  // Whoever opens the link is in the same document.
  await typeAtEnd(page, 'shared via link')
  const other = await context.newPage()
  await other.goto(copied)
  await expectText(other, 'shared via link')

  // Two visits without ?room= get two different rooms.
  const third = await context.newPage()
  await third.goto(`${server.url}/`)
  await expectLive(third)
  expect(new URL(third.url()).searchParams.get('room')).not.toBe(room)
  await context.close()
})

test('identity: a friendly generated name and colour, remembered on the next visit', async ({ browser, server, room }) => {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${server.url}/?room=${room}`)
  await expectLive(page)
  const input = page.getByRole('textbox', { name: 'Your name' })
  const name = await input.inputValue()
  expect(name).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+$/)
  const colour = () => page.locator('#me-color').evaluate((el) => getComputedStyle(el).backgroundColor)
  const first = await colour()
  await expect(page.locator('#presence [data-self] .tandem-person-name')).toHaveText(name)

  await page.reload()
  await expectLive(page)
  await expect(input).toHaveValue(name)
  expect(await colour()).toBe(first)

  // ?name= wins over the remembered name.
  await page.goto(`${server.url}/?room=${room}&name=Zed`)
  await expect(input).toHaveValue('Zed')
  await context.close()
})

test('the badge says "All changes saved" when live with everything stored, and "Offline" when the server is gone', async ({ openEditor, server, room }) => {
  const page = await openEditor({ room, name: 'Ada' })
  const badge = page.locator('.tandem-badge')
  // A Tandem server acknowledges stored edits, so the badge's one line is the saved indicator.
  await expect(badge).toHaveAttribute('data-status', 'live')
  await expect(badge).toHaveText('All changes saved')
  await server.stop()
  await expect(badge).toHaveAttribute('data-status', 'offline')
  await expect(badge).toHaveText('Offline')
  await server.start()
  await expectLive(page, 30_000)
})

test('phone-width screen: no horizontal scrolling, toolbar and editor usable', async ({ browser, server, room }) => {
  const context = await browser.newContext({ viewport: { width: 375, height: 700 }, isMobile: true, hasTouch: true })
  const page = await context.newPage()
  await page.goto(`${server.url}/?room=${room}&name=Ada`)
  await expectLive(page)
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
  expect(overflow).toBeLessThanOrEqual(0)
  await editor(page).tap()
  await page.getByRole('button', { name: 'Bold' }).tap()
  await page.keyboard.type('small screen')
  await expect(editor(page).locator('strong')).toHaveText('small screen')
  await context.close()
})

test('the server serves the built editor: no-cache HTML, immutable hashed assets, right MIME types', async ({ request, server }) => {
  const index = await request.get(`${server.url}/`)
  expect(index.status()).toBe(200)
  expect(index.headers()['content-type']).toContain('text/html')
  expect(index.headers()['cache-control']).toContain('no-cache')
  const html = await index.text()
  const script = /src="\.?\/?(assets\/[^"]+\.js)"/.exec(html)?.[1]
  const style = /href="\.?\/?(assets\/[^"]+\.css)"/.exec(html)?.[1]
  expect(script).toBeTruthy()
  for (const [path, type] of [[script, 'javascript'], [style, 'text/css']] as const) {
    const res = await request.get(`${server.url}/${path}`)
    expect(res.status()).toBe(200)
    expect(res.headers()['content-type']).toContain(type)
    expect(res.headers()['cache-control']).toContain('immutable')
  }
  const embed = await request.get(`${server.url}/embed.html`)
  expect(embed.status()).toBe(200)
  expect(embed.headers()['content-type']).toContain('text/html')
})
