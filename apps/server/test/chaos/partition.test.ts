import { performance } from 'node:perf_hooks'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createCluster, requirePostgres, requireRedis } from '../helpers/services.js'
import { createFaultProxy } from '../health/fault-proxy.js'
import { checkRecovered, healthUntil, moreSaved, serversTyping } from './harness.js'

/**
 * A 30 s network partition between ONE of three servers and Redis (its links stay open, nothing
 * crosses: a proxy of this test's own stops forwarding), then healed. The store is up throughout,
 * so every server keeps acknowledging; the partitioned server's clients and the others' see each
 * other's edits again once the partition heals (from the store, as messages published meanwhile
 * are gone).
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
const PARTITION_MS = 30_000

describe('chaos: partition', () => {
  it('one of three servers cut off from Redis for 30 s, then healed: edits stay saved on all three; every client converges, the store has everything', async () => {
    const cluster = await createCluster({ pg: pgUrl, redis: redisUrl }, cleanups)
    const proxy = await createFaultProxy(redisUrl, 6379)
    cleanups.push(() => proxy.close())
    cleanups.push(() => proxy.resume())
    const { servers, typists } = await serversTyping(cluster, [{ REDIS_URL: proxy.url('redis:') }, {}, {}], ROOM, cleanups)
    const [a, b, c] = servers
    const onA = typists.filter((t) => t.tag.startsWith('a'))
    const others = typists.filter((t) => !t.tag.startsWith('a'))

    proxy.pause()
    const startedAt = performance.now()
    await healthUntil(a!, 'A: fan-out stalled', (h) => h.fanout.reason === 'stalled')
    // B and C still hear each other: only A is cut off.
    for (const s of [b!, c!]) expect(((await (await fetch(`${s.url}/healthz`)).json()) as { fanout: { ok: boolean } }).fanout.ok).toBe(true)
    // Throughout the partition every server keeps storing and acknowledging.
    while (performance.now() - startedAt < PARTITION_MS) await moreSaved(typists, 5, 'edits acknowledged during the partition')
    proxy.resume()
    const endedAt = performance.now()
    await checkRecovered({ fault: 'one of three servers partitioned from Redis for 30 s', endedAt, typists: [...onA, ...others], servers, cluster, directEnv: {}, room: ROOM })
  }, 120_000)
})
