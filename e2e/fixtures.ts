import { test as base, expect, type BrowserContext, type Page } from '@playwright/test'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as Y from 'yjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const SERVER_MAIN = join(root, 'apps', 'server', 'dist', 'main.js')
const READY = /listening on (http:\/\/[^\s]+)/

/** One built Tandem server process on a temp DATA_DIR; stop()/start() keep the port and data. */
export class TandemServer {
  readonly dataDir: string
  private child: ChildProcess | undefined
  private port = 0
  /** stderr tail, shown when the server fails to start */
  private log = ''
  /** frozen by pause() */
  private paused = false

  /** extra environment for the server (e.g. FRAME_ANCESTORS) */
  private readonly env: Record<string, string>

  constructor(env: Record<string, string> = {}) {
    this.env = env
    this.dataDir = mkdtempSync(join(tmpdir(), 'tandem-e2e-'))
  }

  /** http://127.0.0.1:<port> */
  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }
  /** ws://127.0.0.1:<port> */
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}`
  }

  /** Starts the server (first time on PORT=0, afterwards on the same port) and waits for the ready line. */
  async start(): Promise<void> {
    if (this.child) throw new Error('server already running')
    const child = spawn(process.execPath, [SERVER_MAIN], {
      cwd: root,
      env: { ...process.env, ...this.env, PORT: String(this.port), HOST: '127.0.0.1', DATA_DIR: this.dataDir, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child = child
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.log = (this.log + chunk).slice(-4000)
    })
    const url = await new Promise<string>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => fail(new Error('no ready line within 15 s')), 15_000)
      const fail = (err: Error) => {
        clearTimeout(timer)
        reject(new Error(`${err.message}\nserver stderr:\n${this.log}`))
      }
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk
        const m = READY.exec(out)
        if (m) {
          clearTimeout(timer)
          resolve(m[1]!)
        }
      })
      child.once('exit', (code, signal) => fail(new Error(`server exited (${code ?? signal}) before it was ready`)))
      child.once('error', fail)
    })
    this.port = Number(new URL(url).port)
  }

  /** SIGTERM (graceful) or SIGKILL; resolves once the process has exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child
    if (!child) return
    this.child = undefined
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill(signal)
    // A frozen process only acts on SIGTERM once it runs again (SIGKILL needs no help).
    if (this.paused) child.kill('SIGCONT')
    this.paused = false
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }

  /**
   * SIGSTOP: the process is frozen but its sockets stay open, so clients keep sending into the
   * kernel's buffers and nothing they send is read, stored or acknowledged until resume().
   */
  pause(): void {
    if (!this.child?.kill('SIGSTOP')) throw new Error('server not running')
    this.paused = true
  }

  /** SIGCONT after pause(): the server reads what queued up meanwhile. */
  resume(): void {
    if (!this.child?.kill('SIGCONT')) throw new Error('server not running')
    this.paused = false
  }

  /**
   * The text of the room's document as the server has it (GET /api/rooms/<room>/state), from
   * Node, so a browser context's offline switch does not apply. Right after a restart this is
   * what the store kept.
   */
  async documentText(room: string): Promise<string> {
    const res = await fetch(`${this.url}/api/rooms/${encodeURIComponent(room)}/state`)
    if (!res.ok) throw new Error(`GET state of ${room}: HTTP ${res.status}`)
    const doc = new Y.Doc()
    try {
      Y.applyUpdate(doc, new Uint8Array(await res.arrayBuffer()))
      return fragmentText(doc.getXmlFragment('default'))
    } finally {
      doc.destroy()
    }
  }

  async restart(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.stop(signal)
    await this.start()
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL')
    rmSync(this.dataDir, { recursive: true, force: true })
  }
}

/** The characters of a Y.XmlFragment as an editor shows them (marks and block boundaries dropped). */
function fragmentText(node: Y.XmlFragment | Y.XmlElement | Y.XmlText | Y.XmlHook): string {
  if (node instanceof Y.XmlText) return (node.toDelta() as Array<{ insert: unknown }>).map((op) => (typeof op.insert === 'string' ? op.insert : '')).join('')
  if (node instanceof Y.XmlHook) return ''
  return node.toArray().map(fragmentText).join('')
}

let roomCounter = 0

export interface OpenOptions {
  room: string
  name: string
  /** extra query parameters */
  params?: Record<string, string>
  /** page path, default '/' */
  path?: string
}

export interface Fixtures {
  server: TandemServer
  /** A fresh room name, unique per test. */
  room: string
  /** Opens the editor page as a new user (own browser context = own storage) and waits until it is live. */
  openEditor: (opts: OpenOptions) => Promise<Page>
}

export const test = base.extend<Fixtures>({
  server: async ({}, use) => {
    const server = new TandemServer()
    await server.start()
    await use(server)
    await server.dispose()
  },
  room: async ({}, use, testInfo) => {
    await use(`e2e-${testInfo.workerIndex}-${++roomCounter}-${Date.now().toString(36)}`)
  },
  openEditor: async ({ browser, server }, use) => {
    const contexts: BrowserContext[] = []
    await use(async (opts) => {
      const context = await browser.newContext()
      contexts.push(context)
      const page = await context.newPage()
      await gotoEditor(page, server, opts)
      return page
    })
    for (const c of contexts) await c.close()
  },
})

export function editorUrl(server: TandemServer, { room, name, params, path = '/' }: OpenOptions): string {
  const q = new URLSearchParams({ room, name, ...params })
  return `${server.url}${path}?${q}`
}

export async function gotoEditor(page: Page, server: TandemServer, opts: OpenOptions): Promise<void> {
  await page.goto(editorUrl(server, opts))
  await expectLive(page)
}

/** The page's connection badge says Live (connected and initial sync done). */
export async function expectLive(page: Page, timeout = 30_000): Promise<void> {
  // waitFor watches the DOM continuously; toHaveAttribute would back off to 1 s between checks.
  await page.locator('.tandem-badge[data-status="live"]').first().waitFor({ timeout })
}

/** All local edits have been confirmed by the server. */
export async function expectSaved(page: Page, timeout = 30_000): Promise<void> {
  await page.locator('.tandem-badge[data-saved="true"]').first().waitFor({ timeout })
}

/** The saved indicator: "Saving…", "All changes saved", "Offline — N changes kept on this device", "Offline". */
export const saveState = (page: Page) => page.getByTestId('save-state').first()

/** Fast polling for expect.poll: the default backs off to 1 s between tries, which adds up. */
export const POLL = [50, 100, 150, 250] as const

export const editor = (page: Page) => page.locator('.ProseMirror').first()

/**
 * The document's text as the user reads it. Remote carets are widgets inside .ProseMirror
 * whose labels are visible text (README "The editor": carets with names), so textContent alone
 * would include names.
 */
export async function docText(page: Page, root = '.ProseMirror'): Promise<string> {
  return page.locator(root).first().evaluate((el) => {
    const copy = el.cloneNode(true) as HTMLElement
    for (const caret of copy.querySelectorAll('.collaboration-carets__caret')) caret.remove()
    return copy.textContent ?? ''
  })
}

/** Text of every element matching `selector` inside the editor, caret labels left out. */
async function textsOf(page: Page, selector: string, root = '.ProseMirror'): Promise<string[]> {
  return page.locator(root).first().evaluate(
    (el, sel) =>
      [...el.querySelectorAll(sel)].map((node) => {
        const copy = node.cloneNode(true) as HTMLElement
        for (const caret of copy.querySelectorAll('.collaboration-carets__caret')) caret.remove()
        return copy.textContent ?? ''
      }),
    selector,
  )
}

/** Waits until the elements matching `selector` in the editor have exactly these texts. */
export async function expectTexts(page: Page, selector: string, expected: string[], timeout = 20_000): Promise<void> {
  await expect.poll(() => textsOf(page, selector), { timeout, intervals: [...POLL], message: `texts of ${selector}` }).toEqual(expected)
}

/**
 * Waits until the editor's own state (not just the DOM) has `text` selected. ProseMirror reads
 * the DOM selection on a later selectionchange event, so on a loaded machine the DOM can show
 * the selection while a command run now would still act on the old one.
 */
export async function expectSelected(page: Page, text: string, root = editor(page), timeout = 20_000): Promise<void> {
  await expect
    .poll(
      () =>
        root.evaluate((el) => {
          const state = (el as HTMLElement & { editor?: { state: { selection: { from: number; to: number }; doc: { textBetween(a: number, b: number): string } } } }).editor?.state
          return state ? state.doc.textBetween(state.selection.from, state.selection.to) : null
        }),
      { timeout, intervals: [...POLL], message: 'the editor state holds the selection' },
    )
    .toBe(text)
}

/** Waits until every page shows exactly `text`. */
export async function expectText(pages: Page | Page[], text: string | RegExp, timeout = 20_000): Promise<void> {
  for (const page of Array.isArray(pages) ? pages : [pages]) {
    await expect.poll(() => docText(page), { timeout, intervals: [...POLL] }).toEqual(typeof text === 'string' ? text : expect.stringMatching(text))
  }
}

/**
 * Puts the caret at the end of the document and enters `text` as one input (like a paste or
 * an IME commit). Per-key typing costs ~40 ms a character with a few tabs open; specs that
 * are about keystrokes (concurrent typing, shortcuts) use page.keyboard.type themselves.
 */
export async function typeAtEnd(page: Page, text: string): Promise<void> {
  const pm = editor(page)
  await pm.click()
  await page.keyboard.press('ControlOrMeta+End')
  await page.keyboard.insertText(text)
}

export { expect, type Page }
