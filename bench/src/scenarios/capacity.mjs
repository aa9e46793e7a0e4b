// Scenario C: idle synced connections; memory per connection and time to get them all synced.
import { withRig, baseArgs, sleep } from './rig.mjs'
import { sample, cpuBetween } from '../proc-stats.mjs'

/** @param {import('./rig.mjs').RunContext} ctx */
export async function runC (ctx) {
  const p = ctx.params
  return withRig(ctx, {}, async ({ server, lg }) => {
    await sleep(p.settleMs)
    const before = sample(server.pid)
    const setup = await lg.call('capacitySetup', { ...baseArgs(ctx, server, 'c'), rooms: p.rooms, clientsPerRoom: p.clients, concurrency: p.concurrency })
    const synced = sample(server.pid)
    await sleep(p.settleMs)
    const after = sample(server.pid)
    const dropped = await lg.call('capacityDropped')
    await lg.call('close')
    const conns = p.rooms * p.clients - setup.failed
    if (setup.failed > 0) throw new Error(`${setup.failed} of ${p.rooms * p.clients} connections failed: ${setup.firstError}`)
    return {
      rssPerConnKiB: (after.rss - before.rss) / conns,
      connectSyncMs: setup.ms,
      connectCpuMs: cpuBetween(before, synced).cpuMs,
      rssBaselineMiB: before.rss / 1024,
      rssMiB: after.rss / 1024,
      connections: conns,
      dropped,
    }
  })
}
