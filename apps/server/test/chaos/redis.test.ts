import { performance } from 'node:perf_hooks'
import { afterEach, beforeAll, describe, it } from 'vitest'
import { createCluster, requirePostgres, requireRedis } from '../helpers/services.js'
import { createFaultProxy } from '../health/fault-proxy.js'
import { checkRecovered, healthUntil, moreSaved, moreTyped, twoServersTyping } from './harness.js'

/**
 * Redis faults mid-traffic: both servers reach Redis through ONE proxy of this test's own, so the
 * fault hits the fan-out of the whole cluster at once (as a Redis outage does) and the shared
 * Redis is never disturbed. The store (PostgreSQL) stays up: edits keep being acknowledged.
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

async function setup() {
  const cluster = await createCluster({ pg: pgUrl, redis: redisUrl }, cleanups)
  const proxy = await createFaultProxy(redisUrl, 6379)
  cleanups.push(() => proxy.close())
  const env = { REDIS_URL: proxy.url('redis:') }
  const { servers, typists } = await twoServersTyping(cluster, env, env, ROOM, cleanups)
  // A server being killed while Redis stalls must not wait on it: let it through first.
  cleanups.push(() => proxy.resume())
  return { cluster, proxy, servers, typists }
}

describe('chaos: Redis', () => {
  it('cut mid-traffic, then restored: edits stay saved throughout; every client converges, the store has everything', async () => {
    const { cluster, proxy, servers, typists } = await setup()
    await proxy.cut()
    await Promise.all(servers.map((s) => healthUntil(s, 'fan-out disconnected', (h) => h.fanout.reason === 'disconnected')))
    await moreSaved(typists, 20, 'edits acknowledged while Redis is cut')
    await moreTyped(typists, 20, 'typing during the cut')
    await proxy.restore()
    const endedAt = performance.now()
    await checkRecovered({ fault: 'Redis cut', endedAt, typists, servers, cluster, directEnv: {}, room: ROOM })
  }, 90_000)

  it('stalled (connected, nothing forwarded), then resumed: edits stay saved throughout; every client converges, the store has everything', async () => {
    const { cluster, proxy, servers, typists } = await setup()
    proxy.pause()
    await Promise.all(servers.map((s) => healthUntil(s, 'fan-out stalled', (h) => h.fanout.reason === 'stalled')))
    await moreSaved(typists, 20, 'edits acknowledged while Redis is stalled')
    await moreTyped(typists, 20, 'typing during the stall')
    proxy.resume()
    const endedAt = performance.now()
    await checkRecovered({ fault: 'Redis stalled', endedAt, typists, servers, cluster, directEnv: {}, room: ROOM })
  }, 90_000)
})
