import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as Y from 'yjs'
import { startServer, tempDir, type RunningServer } from '../helpers/server.js'
import { synced, yws } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { runMainExpectingExit } from '../helpers/auth.js'
import { loadConfig } from '../../src/config.js'

let s: RunningServer
const editorDir = tempDir('tandem-editor-')
beforeAll(async () => {
  mkdirSync(join(editorDir, 'assets'))
  writeFileSync(join(editorDir, 'index.html'), '<!doctype html><title>Tandem</title>')
  writeFileSync(join(editorDir, 'embed.html'), '<!doctype html><title>Embed</title>')
  writeFileSync(join(editorDir, 'assets', 'app-abc123.js'), 'console.log(1)')
  writeFileSync(join(editorDir, 'assets', 'app-abc123.css'), 'body{}')
  writeFileSync(join(editorDir, 'sw.js'), 'self.addEventListener("fetch", () => {})')
  s = await startServer({ EDITOR_DIR: editorDir })
})
afterAll(() => s.close())

describe('HTTP', () => {
  it('GET /healthz reports status, rooms, connections, uptime', async () => {
    const c = yws(s.wsUrl, 'health')
    await synced(c.provider)
    const res = await fetch(`${s.url}/healthz`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/application\/json/)
    const body = (await res.json()) as { uptime: unknown }
    expect(body).toMatchObject({ status: 'ok', rooms: 1, connections: 1, store: { kind: 'sqlite', ok: true } })
    expect(typeof body.uptime).toBe('number')
    c.destroy()
  })

  it('GET /metrics is Prometheus text with Tandem and process metrics', async () => {
    const res = await fetch(`${s.url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/text\/plain/)
    const body = await res.text()
    for (const name of [
      'tandem_connections',
      'tandem_rooms',
      'tandem_messages_in_total',
      'tandem_messages_out_total',
      'tandem_bytes_in_total',
      'tandem_bytes_out_total',
      'tandem_updates_stored_total',
      'tandem_store_append_seconds',
      'tandem_slow_consumer_closes_total',
      'tandem_rejected_frames_total',
      'process_cpu_seconds_total',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(body, name).toContain(name)
    }
  })

  it('GET /api/rooms/<room>/state returns the document as one Yjs update', async () => {
    const c = yws(s.wsUrl, 'state/ü')
    await synced(c.provider)
    c.doc.getText('t').insert(0, 'over http')
    await until(async () => {
      const res = await fetch(`${s.url}/api/rooms/${encodeURIComponent('state/ü')}/state`)
      const d = new Y.Doc()
      Y.applyUpdate(d, new Uint8Array(await res.arrayBuffer()))
      return res.headers.get('content-type') === 'application/octet-stream' && d.getText('t').toString() === 'over http'
    }, 'state endpoint')
    c.destroy()
    // A room nobody has open is read from the store, and unloaded again.
    await until(() => s.server.registry.size === 0, 'unloaded')
    const res = await fetch(`${s.url}/api/rooms/${encodeURIComponent('state/ü')}/state`)
    const d = new Y.Doc()
    Y.applyUpdate(d, new Uint8Array(await res.arrayBuffer()))
    expect(d.getText('t').toString()).toBe('over http')
    await until(() => s.server.registry.size === 0, 'unloaded after the API read')
  })

  it('serves the built editor: no-cache HTML, immutable hashed assets, MIME types, no traversal', async () => {
    const index = await fetch(`${s.url}/?room=abc`)
    expect(index.status).toBe(200)
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(index.headers.get('cache-control')).toBe('no-cache')
    const js = await fetch(`${s.url}/assets/app-abc123.js`)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(js.headers.get('cache-control')).toContain('immutable')
    expect((await fetch(`${s.url}/assets/app-abc123.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(await (await fetch(`${s.url}/embed.html`)).text()).toContain('Embed')
    expect((await fetch(`${s.url}/assets/missing.js`)).status).toBe(404)
    expect((await fetch(`${s.url}/..%2f..%2fpackage.json`)).status).toBe(404)
  })
})

/** A Content-Security-Policy header as directive → sources. */
function csp(res: Response): Record<string, string[]> {
  const header = res.headers.get('content-security-policy')
  expect(header, `CSP on ${res.url}`).toBeTruthy()
  return Object.fromEntries(
    header!.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
      const [name, ...sources] = d.split(/\s+/)
      return [name!, sources]
    }),
  )
}

describe('security headers', () => {
  it('editor pages: a CSP they work under, frame-ancestors \'self\' + X-Frame-Options SAMEORIGIN, no-referrer, nosniff (default FRAME_ANCESTORS)', async () => {
    for (const path of ['/', '/?room=abc&token=secret', '/embed.html', '/some/room/path', '/index.html']) {
      const res = await fetch(`${s.url}${path}`)
      expect(res.headers.get('content-type'), path).toBe('text/html; charset=utf-8')
      const policy = csp(res)
      expect(policy['frame-ancestors'], path).toEqual(["'self'"])
      // No inline script, no eval: an injected <script> or onclick= does not run.
      expect(policy['script-src']).toEqual(["'self'"])
      expect(policy['default-src']).toEqual(["'self'"])
      expect(policy['object-src']).toEqual(["'none'"])
      expect(policy['base-uri']).toEqual(["'none'"])
      // The page may be pointed at another sync server (?server=): WebSocket schemes only.
      expect(policy['connect-src']).toEqual(["'self'", 'ws:', 'wss:'])
      expect(res.headers.get('x-frame-options'), path).toBe('SAMEORIGIN')
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer')
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff')
    }
    // The other files get the same (the service worker runs under the CSP sw.js comes with).
    for (const path of ['/sw.js', '/assets/app-abc123.js', '/assets/app-abc123.css']) {
      const res = await fetch(`${s.url}${path}`)
      expect(res.status, path).toBe(200)
      expect(csp(res)['frame-ancestors'], path).toEqual(["'self'"])
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff')
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer')
    }
  })

  it('not pages (API, health, metrics, 404): nothing may run in or frame them', async () => {
    for (const path of ['/healthz', '/metrics', '/api/rooms/x/state', '/assets/missing.js', '/api/rooms/%2A/state']) {
      const res = await fetch(`${s.url}${path}`)
      expect(csp(res), path).toEqual({ 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] })
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff')
      await res.arrayBuffer()
    }
  })

  it('FRAME_ANCESTORS: custom sources replace \'self\' (no X-Frame-Options: it cannot say that), \'none\' sends DENY', async () => {
    const custom = await startServer({ EDITOR_DIR: editorDir, FRAME_ANCESTORS: "'self' https://app.example.com,https://*.example.org:8443" })
    const none = await startServer({ EDITOR_DIR: editorDir, FRAME_ANCESTORS: "'none'" })
    try {
      for (const path of ['/', '/embed.html']) {
        const a = await fetch(`${custom.url}${path}`)
        expect(csp(a)['frame-ancestors']).toEqual(["'self'", 'https://app.example.com', 'https://*.example.org:8443'])
        expect(a.headers.get('x-frame-options')).toBeNull()
        expect(csp(a)['script-src']).toEqual(["'self'"])
        const b = await fetch(`${none.url}${path}`)
        expect(csp(b)['frame-ancestors']).toEqual(["'none'"])
        expect(b.headers.get('x-frame-options')).toBe('DENY')
      }
    } finally {
      await custom.close()
      await none.close()
    }
  })

  it('FRAME_ANCESTORS is validated: a bad value stops the server (exit 2) naming the variable', async () => {
    const load = (v: string) => loadConfig({ DATA_DIR: tempDir(), FRAME_ANCESTORS: v }, { editorDir: '' })
    expect(load('*').frameAncestors).toBe('*')
    expect(load("  'SELF'  https://a.example ").frameAncestors).toBe("'self' https://a.example")
    // Whatever separates the sources, the header gets one line of space-separated ones.
    expect(load("https://a.example,\n'self'").frameAncestors).toBe("https://a.example 'self'")
    for (const bad of ['self', "'none' https://a.example", "https://a.example; script-src 'unsafe-inline'", '"https://a.example"', "https://a.example/'x", "'unsafe-inline'", 'a_b.example']) {
      expect(() => load(bad), bad).toThrow(/FRAME_ANCESTORS/)
    }
    const r = await runMainExpectingExit({ DATA_DIR: tempDir(), FRAME_ANCESTORS: "https://a.example; script-src *" })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('FRAME_ANCESTORS')
  })
})
