import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { startServer, type RunningServer } from '../helpers/server.js'
import { synced, yws } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { dropSchema, requirePostgres, requireRedis, uniqueName } from '../helpers/services.js'
import { getJson, putJson, sameDocument } from './helpers.js'

/**
 * Safe seeding: `PUT … If-None-Match: *` writes only into an empty document. However many
 * seeders race, on one server or on several sharing PostgreSQL, the content is written exactly
 * once: one 201, every other seeder 412, nothing else stored.
 */

const cleanup: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

const seed = (n: number) => ({ type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: `seed ${n}` }] }] })

async function race(urls: string[], room: string, seeders: number) {
  const answers = await Promise.all(Array.from({ length: seeders }, (_, i) => putJson(urls[i % urls.length]!, room, seed(i), { 'if-none-match': '*' })))
  const winners = answers.flatMap((a, i) => (a.status === 201 ? [i] : []))
  return { answers, winners }
}

describe('seeding with If-None-Match: *', () => {
  it('one server (SQLite): of 20 concurrent seeders exactly one writes (201), the others get 412', async () => {
    const s = await startServer()
    cleanup.push(() => s.close())
    const { answers, winners } = await race([s.url], 'seed-one', 20)
    expect(winners).toHaveLength(1)
    expect(answers.filter((a) => a.status === 412)).toHaveLength(19)
    expect(answers[winners[0]!]!.json()).toEqual({ room: 'seed-one', changed: true })
    expect(sameDocument(await getJson(s.url, 'seed-one'), seed(winners[0]!))).toBe(true)
    // Not empty any more: a later seeder changes nothing.
    expect((await putJson(s.url, 'seed-one', seed(99), { 'if-none-match': '*' })).status).toBe(412)
    expect(sameDocument(await getJson(s.url, 'seed-one'), seed(winners[0]!))).toBe(true)
  })

  it('the empty paragraph an editor writes into a new document still counts as empty', async () => {
    const s = await startServer()
    cleanup.push(() => s.close())
    const c = yws(s.wsUrl, 'seed-editor')
    cleanup.push(() => c.destroy())
    await synced(c.provider)
    c.doc.getXmlFragment('default').insert(0, [new Y.XmlElement('paragraph')])
    await until(async () => (await fetch(`${s.url}/api/rooms/seed-editor/state`)).arrayBuffer().then((b) => b.byteLength > 2), 'the empty paragraph stored')
    const res = await putJson(s.url, 'seed-editor', seed(1), { 'if-none-match': '*' })
    expect(res.status).toBe(201)
    expect(res.headers.get('etag')).toMatch(/^"/)
    expect(sameDocument(await getJson(s.url, 'seed-editor'), seed(1))).toBe(true)
    await until(() => c.doc.getXmlFragment('default').toString() === '<paragraph>seed 1</paragraph>', 'the editor has the seed')
  })

  it('servers sharing PostgreSQL (and Redis): of 24 seeders spread over three servers exactly one writes', async () => {
    const databaseUrl = await requirePostgres()
    const redisUrl = await requireRedis()
    const schema = uniqueName('t_seed')
    cleanup.push(() => dropSchema(schema))
    const env = { DATABASE_URL: databaseUrl, PG_SCHEMA: schema, REDIS_URL: redisUrl, REDIS_PREFIX: uniqueName('seed') }
    const servers: RunningServer[] = []
    for (let i = 0; i < 3; i++) {
      const s = await startServer(env)
      cleanup.push(() => s.close())
      servers.push(s)
    }
    const urls = servers.map((s) => s.url)
    for (const room of ['seed-pg-a', 'seed-pg-b']) {
      const { answers, winners } = await race(urls, room, 24)
      expect(winners, room).toHaveLength(1)
      expect(answers.filter((a) => a.status === 412)).toHaveLength(23)
      // Every server serves the one seed, written once.
      for (const url of urls) {
        await until(async () => sameDocument(await getJson(url, room), seed(winners[0]!)), `the seed on ${url}`)
      }
    }
  })
})
