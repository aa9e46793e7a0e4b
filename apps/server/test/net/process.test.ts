import { afterEach, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { spawnServer, tempDir, removeDir, type ChildServer } from '../helpers/server.js'
import { closeOf, synced, text, yws } from '../helpers/clients.js'

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url))
const children: ChildServer[] = []
const dirs: string[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.child.kill('SIGKILL')
  for (const d of dirs.splice(0)) removeDir(d)
})

/** Runs the built server with `env` and collects how it exits. */
function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
      if (stdout.includes('listening on')) child.kill('SIGTERM')
    })
    child.stderr.on('data', (d) => (stderr += d))
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('configuration is validated at startup', () => {
  const bad: Array<[string, Record<string, string>]> = [
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['DATA_DIR', { DATA_DIR: '/etc/hostname/not-a-dir' }],
    ['REDIS_URL', { REDIS_URL: 'redis://127.0.0.1:6379' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['MAX_PAYLOAD_BYTES', { MAX_PAYLOAD_BYTES: '-5' }],
    ['ALLOWED_ORIGINS', { ALLOWED_ORIGINS: 'not a url' }],
  ]
  for (const [variable, env] of bad) {
    it(`${variable}=${Object.values(env)[0]} stops the server with a message naming it`, async () => {
      const dir = tempDir()
      dirs.push(dir)
      const r = await run({ DATA_DIR: dir, ...env })
      expect(r.code).not.toBe(0)
      expect(r.stderr).toContain(variable)
      expect(r.stdout).toBe('')
    })
  }

  it('a port already in use is reported, naming PORT', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const first = await spawnServer({ DATA_DIR: dir })
    children.push(first)
    const r = await run({ DATA_DIR: tempDir(), PORT: String(first.port) })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('PORT')
  })
})

describe('the process: stdout, stderr, signals', () => {
  it('stdout carries only the ready line; logs go to stderr', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const r = await run({ DATA_DIR: dir, LOG_LEVEL: 'info' })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^tandem listening on http:\/\/127\.0\.0\.1:\d+\n$/)
    expect(r.stderr).toContain('"msg":"ready"')
  })

  it('SIGTERM: sockets close with 1001, writes are flushed, exit 0', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const s = await spawnServer({ DATA_DIR: dir })
    children.push(s)
    const a = yws(s.wsUrl, 'bye')
    await synced(a.provider)
    a.doc.getText('t').insert(0, 'flushed on shutdown')
    // Wait for the server to have it (a second client sees it), then stop the server.
    const b = yws(s.wsUrl, 'bye')
    await synced(b.provider)
    const raw = new WebSocket(`${s.wsUrl}/bye`)
    await new Promise((r) => raw.once('open', r))
    const closed = closeOf(raw)
    s.child.kill('SIGTERM')
    expect((await closed).code).toBe(1001)
    expect(await s.exited).toEqual({ code: 0, signal: null })
    a.destroy()
    b.destroy()
    raw.terminate()

    const again = await spawnServer({ DATA_DIR: dir })
    children.push(again)
    const c = yws(again.wsUrl, 'bye')
    await synced(c.provider)
    expect(text(c.doc)).toBe('flushed on shutdown')
    c.destroy()
  })
})
