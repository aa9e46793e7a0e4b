// Scenario C: idle synced connections; memory per connection and time to get them all synced.
import { withRig, baseArgs, sleep, samplePair } from './rig.mjs'
import { cpuBetween, otherLoad } from '../proc-stats.mjs'

/** @param {import('./rig.mjs').RunContext} ctx */
export async function runC (ctx) {
  const p = ctx.params
  return withRig(ctx, {}, async ({ server, lg }) => {
    await sleep(p.settleMs)
    const before = samplePair(server, lg)
    const setup = await lg.call('capacitySetup', { ...baseArgs(ctx, server, 'c'), rooms: p.rooms, clientsPerRoom: p.clients, concurrency: p.concurrency })
    const synced = samplePair(server, lg)
    await sleep(p.settleMs)
    const after = samplePair(server, lg)
    const dropped = await lg.call('capacityDropped')
    await lg.call('close')
    const conns = p.rooms * p.clients - setup.failed
    if (setup.failed > 0) throw new Error(`${setup.failed} of ${p.rooms * p.clients} connections failed: ${setup.firstError}`)
    return {
      rssPerConnKiB: (after.server.rss - before.server.rss) / conns,
      connectSyncMs: setup.ms,
      connectCpuMs: cpuBetween(before.server, synced.server).cpuMs,
      rssBaselineMiB: before.server.rss / 1024,
      rssMiB: after.server.rss / 1024,
      otherLoadPct: otherLoad(before, synced) * 100,
      connections: conns,
      dropped,
    }
  })
}
