import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createCluster, requirePostgres, requireRedis } from '../helpers/services.js'
import { removeDir, spawnServer, tempDir, type ChildServer } from '../helpers/server.js'
import { synced } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { putJson } from '../content/helpers.js'
import { docText, listVersions, liveText, nameVersion, paragraphs, restore, typeParagraph, type VersionJson } from './helpers.js'

/**
 * Version history with the BUILT server as a process (`pnpm build` first): two servers sharing
 * PostgreSQL and Redis, and a restore that must survive kill -9 once acknowledged.
 */

let pgUrl = ''
let redisUrl = ''
beforeAll(async () => {
  pgUrl = await requirePostgres()
  redisUrl = await requireRedis()
})
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => {})
})

async function editor(s: ChildServer, room: string, name: string) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(s.wsUrl, room, doc, { WebSocketPolyfill: WebSocket as never, disableBc: true })
  cleanups.push(() => provider.destroy())
  provider.awareness.setLocalStateField('user', { name })
  await synced(provider)
  return doc
}

describe('version history on two servers sharing PostgreSQL', () => {
  it('one automatic version per burst between them, with the authors each server saw; a restore on one reaches a client of the other', { timeout: 60_000 }, async () => {
    const c = await createCluster({ pg: pgUrl, redis: redisUrl }, cleanups)
    const env = { HISTORY_QUIET_MS: '300' }
    const [a, b] = await Promise.all([c.start(env), c.start(env)])
    const room = 'shared-history'
    const ann = await editor(a, room, 'Ann')
    const ben = await editor(b, room, 'Ben')

    const burst = async (tag: string) => {
      for (let i = 0; i < 5; i++) {
        typeParagraph(ann, `${tag} ann ${i}`)
        typeParagraph(ben, `${tag} ben ${i}`)
      }
      await until(() => docText(ann) === docText(ben) && docText(ann).includes(`${tag} ben 4`) && docText(ann).includes(`${tag} ann 4`), `${tag}: both editors converge`)
      return docText(ann)
    }
    const authorNames = (v: VersionJson | undefined) => (v?.authors ?? []).map((x) => x.name).sort()

    const first = await burst('one')
    // Both servers attributed their own writer: each has made its attempt at this burst's version.
    const v1 = await until(async () => {
      const { versions } = await listVersions(a.url, room)
      return authorNames(versions[0]).join() === 'Ann,Ben' ? versions : undefined
    }, 'the version of the first burst, with Ann (seen by A) and Ben (seen by B)')
    expect(v1).toHaveLength(1)

    const second = await burst('two')
    const v2 = await until(async () => {
      const { versions } = await listVersions(b.url, room)
      return versions.length >= 2 && authorNames(versions[0]).join() === 'Ann,Ben' ? versions : undefined
    }, 'the version of the second burst')
    expect(v2).toHaveLength(2)
    expect((await listVersions(a.url, room)).versions.map((v) => v.id)).toEqual(v2.map((v) => v.id))
    expect(second).not.toBe(first)

    // Restore the first burst's version on A: Ben, on B, sees it.
    expect((await restore(a.url, room, v2[1]!.id)).status).toBe(200)
    await until(() => docText(ben) === first && docText(ann) === first, 'both editors show the restored version')
    expect(await liveText(b.url, room)).toBe(first)
  })
})

describe('a restore and kill -9', () => {
  it('a restore acknowledged with 200 survives kill -9 right after it', { timeout: 60_000 }, async () => {
    const dir = tempDir()
    cleanups.push(() => removeDir(dir))
    const start = async () => {
      const s = await spawnServer({ DATA_DIR: dir, HISTORY_QUIET_MS: '0' })
      cleanups.push(async () => {
        if (s.child.exitCode === null && s.child.signalCode === null) {
          s.child.kill('SIGKILL')
          await s.exited
        }
      })
      return s
    }
    const room = 'kill-9'
    const s1 = await start()
    expect((await putJson(s1.url, room, paragraphs('the good version', 'second paragraph'))).status).toBe(200)
    const good = (await nameVersion(s1.url, room, 'good')).json<VersionJson>()
    expect((await putJson(s1.url, room, paragraphs('a bad paste'))).status).toBe(200)
    expect((await restore(s1.url, room, good.id)).status).toBe(200)
    s1.child.kill('SIGKILL')
    expect((await s1.exited).signal).toBe('SIGKILL')

    const s2 = await start()
    expect(await liveText(s2.url, room)).toBe('the good version\n\nsecond paragraph')
    expect((await listVersions(s2.url, room)).versions.map((v) => v.kind)).toEqual(['before-restore', 'before-replace', 'named'])
  })
})
