import { performance } from 'node:perf_hooks'
import { afterEach, describe, it } from 'vitest'
import { createCluster, requirePostgres, requireRedis } from '../helpers/services.js'
import { checkRecovered, healthUntil, moreSaved, moreTyped, twoServersTyping } from './harness.js'
import { startPrivatePostgres, startPrivateRedis } from './private-services.js'

/**
 * The service itself restarted mid-traffic: PostgreSQL stopped the way a restart does (every
 * session terminated, connections refused) and started again; Redis killed (SIGKILL) and started
 * again, empty. Each on an instance of this test's own (private-services.ts): the machine's
 * shared PostgreSQL and Redis are never stopped.
 */
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => {})
})

const ROOM = 'chaos'

describe('chaos: services restarted', () => {
  it('PostgreSQL restarted mid-traffic: nothing is acknowledged while it is down; every client converges, the store has everything', async () => {
    const db = await startPrivatePostgres()
    cleanups.push(() => db.close())
    const cluster = await createCluster({ pg: db.url, redis: await requireRedis() }, cleanups)
    const { servers, typists } = await twoServersTyping(cluster, {}, {}, ROOM, cleanups)

    await db.stop()
    await Promise.all(servers.map((s) => healthUntil(s, 'store down', (h) => !h.store.ok)))
    await moreTyped(typists, 5, 'typing while PostgreSQL is down')
    const savedWhileDown = typists.map((t) => t.savedThrough())
    await moreTyped(typists, 20, 'typing while PostgreSQL is down')
    // Nothing can be stored, so nothing may be acknowledged as saved.
    const stillSaved = typists.map((t) => t.savedThrough())
    await db.start()
    const endedAt = performance.now()
    await checkRecovered({ fault: 'PostgreSQL restarted', endedAt, typists, servers, cluster, directEnv: {}, room: ROOM })
    for (const [i, n] of stillSaved.entries()) if (n !== savedWhileDown[i]) throw new Error(`${typists[i]!.tag}: ${n - savedWhileDown[i]!} edits acknowledged while PostgreSQL was down`)
  }, 90_000)

  it('Redis killed and restarted mid-traffic: edits stay saved throughout; every client converges, the store has everything', async () => {
    const redis = await startPrivateRedis()
    cleanups.push(() => redis.close())
    const cluster = await createCluster({ pg: await requirePostgres(), redis: redis.url }, cleanups)
    const { servers, typists } = await twoServersTyping(cluster, {}, {}, ROOM, cleanups)

    await redis.kill()
    await Promise.all(servers.map((s) => healthUntil(s, 'fan-out disconnected', (h) => !h.fanout.ok)))
    await moreSaved(typists, 20, 'edits acknowledged while Redis is down')
    await redis.start()
    const endedAt = performance.now()
    await checkRecovered({ fault: 'Redis killed and restarted', endedAt, typists, servers, cluster, directEnv: {}, room: ROOM })
  }, 90_000)
})
