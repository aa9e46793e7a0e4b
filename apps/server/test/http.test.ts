import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as Y from 'yjs'
import { startServer, tempDir, type RunningServer } from './helpers/server.js'
import { synced, yws } from './helpers/clients.js'
import { until } from './helpers/wait.js'

let s: RunningServer
const editorDir = tempDir('tandem-editor-')
beforeAll(async () => {
  mkdirSync(join(editorDir, 'assets'))
  writeFileSync(join(editorDir, 'index.html'), '<!doctype html><title>Tandem</title>')
  writeFileSync(join(editorDir, 'embed.html'), '<!doctype html><title>Embed</title>')
  writeFileSync(join(editorDir, 'assets', 'app-abc123.js'), 'console.log(1)')
  writeFileSync(join(editorDir, 'assets', 'app-abc123.css'), 'body{}')
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
