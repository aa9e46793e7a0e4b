import { performance } from 'node:perf_hooks'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createCluster, requirePostgres, requireRedis } from '../helpers/services.js'
import { createFaultProxy } from '../health/fault-proxy.js'
import { checkRecovered, healthUntil, moreSaved, moreTyped, relayedUnstored, twoServersTyping } from './harness.js'

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
  }, 90_000)

  it("one server's database stalls (connected, nothing forwarded) for seconds: its clients' edits are held, none relayed unstored; it recovers when the database answers again", async () => {
    const cluster = await createCluster({ pg: pgUrl, redis: redisUrl }, cleanups)
    const proxy = await createFaultProxy(pgUrl, 5432)
    cleanups.push(() => proxy.close())
    // Let a server being killed at the end through first.
    cleanups.push(() => proxy.resume())
    const { servers, typists } = await twoServersTyping(cluster, { DATABASE_URL: proxy.url('postgres:') }, {}, ROOM, cleanups)
    const [a] = servers
    const onA = typists.filter((t) => t.tag.startsWith('a'))
    const onB = typists.filter((t) => t.tag.startsWith('b'))

    proxy.pause()
    const typedAt = onA.map((t) => t.typed())
    await healthUntil(a!, 'A: store unreachable (the probe got no answer)', (h) => h.store.reason === 'unreachable')
    await moreSaved(onB, 20, "B's clients' edits acknowledged while A's database stalls")
    // A few seconds of stall, counted in edits A's clients typed meanwhile (10 ms apart).
    await moreTyped(onA, 150, "A's clients typing through the stall", 30_000)
    expect(relayedUnstored(onA, typedAt, onB)).toEqual([])
    proxy.resume()
    const endedAt = performance.now()
    await checkRecovered({ fault: 'PostgreSQL of one server stalled', endedAt, typists, servers, cluster, directEnv: {}, room: ROOM })
  }, 90_000)
})
