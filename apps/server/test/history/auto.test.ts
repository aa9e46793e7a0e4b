import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { afterEach, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../helpers/server.js'
import { synced } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { SECRET, token } from '../helpers/auth.js'
import { loadConfig } from '../../src/config.js'
import { docText, listVersions, liveText, restore, typeParagraph, versionText } from './helpers.js'

/** Automatic versions on one server (SQLite): after a burst of editing, while busy, with who wrote. */

const servers: RunningServer[] = []
const clients: WebsocketProvider[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy()
  for (const s of servers.splice(0)) await s.close()
})

async function server(env: Record<string, string>): Promise<RunningServer> {
  const s = await startServer(env)
  servers.push(s)
  return s
}

async function editor(s: RunningServer, room: string, params: Record<string, string> = {}, name?: string) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(s.wsUrl, room, doc, { WebSocketPolyfill: WebSocket as never, disableBc: true, params })
  clients.push(provider)
  if (name) provider.awareness.setLocalStateField('user', { name, color: '#f00' })
  await synced(provider)
  return { doc, provider }
}

describe('automatic versions', () => {
  it('a burst of edits ends: one version, with the authors (token sub) and the names they showed', async () => {
    const s = await server({ AUTH_SECRET: SECRET, HISTORY_QUIET_MS: '150' })
    const room = 'burst'
    const alice = await editor(s, room, { token: await token({ room, sub: 'alice' }) }, 'Alice Liddell')
    const bob = await editor(s, room, { token: await token({ room, sub: 'bob' }) })
    typeParagraph(alice.doc, 'from alice')
    typeParagraph(bob.doc, 'from bob')
    const versions = await until(async () => {
      const v = (await listVersions(s.url, room, '', { authorization: `Bearer ${await token({ room, access: 'read' })}` })).versions
      return v.length > 0 && v[0]!.authors.length === 2 ? v : undefined
    }, 'an automatic version with both authors')
    expect(versions).toHaveLength(1)
    expect(versions[0]).toMatchObject({ kind: 'auto', name: null })
    expect(versions[0]!.authors).toEqual(expect.arrayContaining([{ id: 'alice', name: 'Alice Liddell' }, { id: 'bob' }]))
  })

  it('while editing never stops, a version at most every HISTORY_MAX_INTERVAL_MS', async () => {
    const s = await server({ HISTORY_QUIET_MS: '600000', HISTORY_MAX_INTERVAL_MS: '150' })
    const room = 'busy'
    const a = await editor(s, room)
    let n = 0
    const typing = setInterval(() => typeParagraph(a.doc, `line ${++n}`), 10)
    try {
      await until(async () => (await listVersions(s.url, room)).versions.length >= 2, 'two versions while busy')
    } finally {
      clearInterval(typing)
    }
    const [newer, older] = (await listVersions(s.url, room)).versions
    expect(Date.parse(newer!.time) - Date.parse(older!.time)).toBeGreaterThanOrEqual(150)
  })

  it('the history of a room compacted many times: every version reads as it was, the oldest restores', async () => {
    const s = await server({ HISTORY_QUIET_MS: '40', COMPACT_AFTER_UPDATES: '1' })
    const room = 'compacted'
    const a = await editor(s, room)
    const expected: string[] = []
    for (let i = 1; i <= 6; i++) {
      for (let j = 0; j < 3; j++) typeParagraph(a.doc, `v${i}.${j}`) // each stored row is compacted
      // Each paragraph deleted later, so the versions differ by deletions too.
      if (i > 1) a.doc.getXmlFragment('default').delete(0, 1)
      const text = docText(a.doc)
      await until(async () => (await liveText(s.url, room)) === text, `round ${i} stored`)
      await until(async () => (await listVersions(s.url, room)).versions.length === i, `version ${i}`)
      expected.push(text)
    }
    // It was compacted again and again: the log folded into a snapshot after every row.
    const metrics = await (await fetch(`${s.url}/metrics`)).text()
    expect(Number(/^tandem_compactions_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(5)
    const versions = (await listVersions(s.url, room)).versions.reverse()
    for (let i = 0; i < versions.length; i++) expect(await versionText(s.url, room, versions[i]!.id)).toBe(expected[i])
    expect((await restore(s.url, room, versions[0]!.id)).status).toBe(200)
    await until(() => docText(a.doc) === expected[0], 'the editor sees the restored document')
    expect(await liveText(s.url, room)).toBe(expected[0])
  })
})

describe('history configuration', () => {
  const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: '/tmp', ...env }, { editorDir: '' })
  it('a bad value names the variable', () => {
    expect(() => load({ HISTORY_QUIET_MS: 'soon' })).toThrow(/HISTORY_QUIET_MS/)
    expect(() => load({ HISTORY_MAX_INTERVAL_MS: '-1' })).toThrow(/HISTORY_MAX_INTERVAL_MS/)
    expect(() => load({ HISTORY_KEEP_ALL_MS: '1.5' })).toThrow(/HISTORY_KEEP_ALL_MS/)
    expect(() => load({ HISTORY_KEEP_ALL_MS: '1000', HISTORY_HOURLY_MS: '10' })).toThrow(/HISTORY_HOURLY_MS/)
    expect(load({})).toMatchObject({ historyQuietMs: 300_000, historyMaxIntervalMs: 1_800_000, historyKeepAllMs: 86_400_000, historyHourlyMs: 30 * 86_400_000 })
  })
})
