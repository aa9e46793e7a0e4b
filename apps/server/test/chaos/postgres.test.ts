import { performance } from 'node:perf_hooks'
import { afterEach, beforeAll, describe, it } from 'vitest'
import { createCluster, requirePostgres, requireRedis } from '../helpers/services.js'
import { createFaultProxy } from '../health/fault-proxy.js'
import { checkRecovered, healthUntil, moreSaved, moreTyped, twoServersTyping } from './harness.js'

/**
 * PostgreSQL lost by ONE server mid-traffic: server A reaches the database through a proxy of
 * this test's own, server B directly. While A's links are cut, A stores nothing (and so acknowledges
 * and relays nothing); B carries on. The shared PostgreSQL is never disturbed.
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

const ROOM = 'chaos'

describe('chaos: PostgreSQL', () => {
  it("one server's database links cut mid-traffic, then restored: the other server's clients stay saved; every client converges, the store has everything", async () => {
    const cluster = await createCluster({ pg: pgUrl, redis: redisUrl }, cleanups)
    const proxy = await createFaultProxy(pgUrl, 5432)
    cleanups.push(() => proxy.close())
    const { servers, typists } = await twoServersTyping(cluster, { DATABASE_URL: proxy.url('postgres:') }, {}, ROOM, cleanups)
    const [a] = servers
    const onA = typists.filter((t) => t.tag.startsWith('a'))
    const onB = typists.filter((t) => t.tag.startsWith('b'))

    await proxy.cut()
    await healthUntil(a!, 'A: store down', (h) => !h.store.ok)
    await moreSaved(onB, 20, "B's clients' edits acknowledged while A has no database")
    await moreTyped(onA, 20, "A's clients typing while A has no database")
    await proxy.restore()
    const endedAt = performance.now()
    await checkRecovered({ fault: 'PostgreSQL of one server cut', endedAt, typists, servers, cluster, directEnv: {}, room: ROOM })
  })
})
