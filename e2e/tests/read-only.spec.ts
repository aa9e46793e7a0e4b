import { test, expect, type Browser, type Page } from '@playwright/test'
import { spawn, type ChildProcess } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The editor page with &token= (README "The editor", `token`): with a READ token the page
 * is visibly read-only (the `.ProseMirror` root has contenteditable="false" and an element with
 * data-testid="read-only-banner" is shown) while the viewer still receives edits live and its
 * presence and caret still show to others. The server enforces read-only regardless (see
 * apps/server/test/auth/read-only.test.ts); this spec is about what a person sees.
 *
 * Self-contained: it needs a server WITH AUTH_SECRET, which the shared fixture does not start.
 */
const SECRET = 'e2e-secret-0123456789abcdef-0123456789abcdef'
const root = fileURLToPath(new URL('../..', import.meta.url))
const SERVER_MAIN = join(root, 'apps', 'server', 'dist', 'main.js')

/** HS256 JWT with node:crypto (the e2e package stays black-box: no server code, no jose). */
function jwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const body = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims })}`
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`
}

class AuthServer {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'tandem-e2e-auth-'))
  private child: ChildProcess | undefined
  url = ''
  private log = ''

  async start(): Promise<void> {
    const child = spawn(process.execPath, [SERVER_MAIN], {
      cwd: root,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: this.dataDir, AUTH_SECRET: SECRET, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child = child
    child.stderr.setEncoding('utf8').on('data', (d: string) => (this.log = (this.log + d).slice(-4000)))
    this.url = await new Promise<string>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => reject(new Error(`no ready line within 30 s\n${this.log}`)), 30_000)
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d
        const m = /listening on (http:\/\/\S+)/.exec(out)
        if (m) {
          clearTimeout(timer)
          resolve(m[1]!)
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`server exited (${code}) before ready\n${this.log}`))
      })
    })
  }

  async dispose(): Promise<void> {
    const child = this.child
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGKILL')
      await exited
    }
    rmSync(this.dataDir, { recursive: true, force: true })
  }
}

const it = test.extend<{ server: AuthServer; room: string }>({
  server: async ({}, use) => {
    const s = new AuthServer()
    await s.start()
    await use(s)
    await s.dispose()
  },
  room: async ({}, use, info) => {
    await use(`ro-${info.workerIndex}-${Date.now().toString(36)}`)
  },
})

async function open(browser: Browser, server: AuthServer, room: string, name: string, access: 'read' | 'write'): Promise<Page> {
  const context = await browser.newContext()
  const page = await context.newPage()
  const q = new URLSearchParams({ room, name, token: jwt({ sub: name, room, access }) })
  await page.goto(`${server.url}/?${q}`)
  await expect(page.locator('.ProseMirror').first()).toBeVisible()
  return page
}

const pm = (page: Page) => page.locator('.ProseMirror').first()
/** Document text without the remote carets' name labels. */
const docText = (page: Page) =>
  pm(page).evaluate((el) => {
    const copy = el.cloneNode(true) as HTMLElement
    for (const c of copy.querySelectorAll('.collaboration-carets__caret')) c.remove()
    return copy.textContent ?? ''
  })

it('a read token: not editable, a banner, live updates; a write token: editable, no banner', async ({ browser, server, room }) => {
  const writer = await open(browser, server, room, 'Writer', 'write')
  const viewer = await open(browser, server, room, 'Viewer', 'read')

  await expect(pm(viewer)).toHaveAttribute('contenteditable', 'false')
  await expect(viewer.getByTestId('read-only-banner')).toBeVisible()
  await expect(pm(writer)).toHaveAttribute('contenteditable', 'true')
  await expect(writer.getByTestId('read-only-banner')).toHaveCount(0)

  await pm(writer).click()
  await writer.keyboard.type('Shared words.')
  await expect.poll(() => docText(viewer)).toBe('Shared words.')

  // Typing in the viewer changes nothing, there or anywhere.
  await pm(viewer).click()
  await viewer.keyboard.press('End')
  await viewer.keyboard.type('INTRUSION')
  await viewer.keyboard.press('Backspace')
  await pm(writer).click()
  await writer.keyboard.press('End')
  await writer.keyboard.type(' More.')
  await expect.poll(() => docText(viewer)).toBe('Shared words. More.')
  expect(await docText(writer)).toBe('Shared words. More.')
})

it("the viewer's presence and caret still show to the writer", async ({ browser, server, room }) => {
  const writer = await open(browser, server, room, 'Writer', 'write')
  await pm(writer).click()
  await writer.keyboard.type('Something to point at.')
  const viewer = await open(browser, server, room, 'Viewer', 'read')
  await expect.poll(() => docText(viewer)).toBe('Something to point at.')

  // Presence: the viewer's name is on the writer's page …
  await expect(writer.getByText('Viewer').first()).toBeVisible()
  // … and once the viewer clicks into the text, its caret (with its name) is in the writer's editor.
  await pm(viewer).getByText('Something to point at.').click()
  await expect(pm(writer).locator('.collaboration-carets__caret', { hasText: 'Viewer' })).toBeVisible()
  // The viewer still sees the writer's caret, too.
  await pm(writer).click()
  await writer.keyboard.press('End')
  await expect(pm(viewer).locator('.collaboration-carets__caret', { hasText: 'Writer' })).toBeVisible()
})
