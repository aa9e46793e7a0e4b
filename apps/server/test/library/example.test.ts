import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { synced, text, upgradeStatus } from '../helpers/clients.js'
import { removeDir, tempDir } from '../helpers/server.js'
import { until } from '../helpers/wait.js'

/** examples/cookie-session (README "Use as a library"), run as a user runs it: `node server.mjs`, against the built @tandem/server. */
const EXAMPLE = fileURLToPath(new URL('../../../../examples/cookie-session/server.mjs', import.meta.url))
const BUILT = fileURLToPath(new URL('../../dist/index.js', import.meta.url))

const cleanup: (() => void | Promise<void>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

describe('examples/cookie-session', () => {
  it('serves its own routes, lets its logged-in users sync through Tandem, refuses strangers, logs each change', async () => {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`pnpm build\` first (pnpm test does)`)
    const dataDir = tempDir()
    cleanup.push(() => removeDir(dataDir))
    const child = spawn(process.execPath, [EXAMPLE], {
      cwd: dataDir,
      env: { PATH: process.env.PATH, PORT: '0', DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    cleanup.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    })
    const url = await until(
      () => {
        if (child.exitCode !== null) throw new Error(`the example exited (${child.exitCode}): ${stderr}`)
        return /example listening on (http:\/\/\S+)/.exec(stdout)?.[1]
      },
      "the example's ready line",
      30_000,
    )
    const wsUrl = url.replace('http', 'ws')

    expect(await (await fetch(`${url}/`)).text()).toBe('the app\n')
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    const login = await fetch(`${url}/login?user=alice&access=write`)
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!
    expect(cookie).toMatch(/^sid=/)

    expect(await upgradeStatus(`${wsUrl}/notes`)).toBe(401)
    class WithCookie extends WebSocket {
      constructor(u: string, protocols?: string | string[]) {
        super(u, protocols, { headers: { cookie } })
      }
    }
    const open = () => {
      const doc = new Y.Doc()
      const provider = new WebsocketProvider(wsUrl, 'notes', doc, { WebSocketPolyfill: WithCookie as never, disableBc: true })
      cleanup.push(() => provider.destroy())
      return { doc, provider }
    }
    const a = open()
    const b = open()
    await synced(a.provider, 'a synced')
    await synced(b.provider, 'b synced')
    a.doc.getText('t').insert(0, 'hello from the example')
    await until(() => text(b.doc) === 'hello from the example', 'b sees a')
    await until(() => /changed notes by alice \(seq \d+\)/.test(stdout), 'the onChange line')
    // The API honours the session too.
    expect((await fetch(`${url}/api/rooms/notes/state`)).status).toBe(401)
    expect((await fetch(`${url}/api/rooms/notes/state`, { headers: { cookie } })).status).toBe(200)

    a.provider.destroy()
    b.provider.destroy()
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})
