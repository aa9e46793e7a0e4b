// Scenario C: idle synced connections; memory per connection and time to get them all synced.
import { withRig, baseArgs, sleep, samplePair } from './rig.mjs'
import { cpuBetween, otherLoad } from '../proc-stats.mjs'

/** @param {import('./rig.mjs').RunContext} ctx */
export async function runC (ctx) {
  const p = ctx.params
  return withRig(ctx, {}, async ({ server, lg }) => {
    await sleep(p.settleMs)
    const before = samplePair(server, lg)
    const setup = await lg.call('capacitySetup', { ...baseArgs(ctx, server, 'c'), rooms: p.rooms, clientsPerRoom: p.clients, roomsPerConn: p.roomsPerConn ?? 1, concurrency: p.concurrency })
    const synced = samplePair(server, lg)
    await sleep(p.settleMs)
    const after = samplePair(server, lg)
    const dropped = await lg.call('capacityDropped')
    await lg.call('close')
    // Per room subscription (a client in a room): a multiplexing client holds roomsPerConn of them on one socket.
    const perConn = ctx.target.proto === 'mux' ? p.roomsPerConn : 1
    const subscriptions = p.rooms * p.clients
    if (setup.failed > 0) throw new Error(`${setup.failed} of ${Math.ceil(subscriptions / perConn)} connections failed: ${setup.firstError}`)
    const conns = subscriptions
    return {
      rssPerConnKiB: (after.server.rss - before.server.rss) / conns,
      connectSyncMs: setup.ms,
      connectCpuMs: cpuBetween(before.server, synced.server).cpuMs,
      rssBaselineMiB: before.server.rss / 1024,
      rssMiB: after.server.rss / 1024,
      otherLoadPct: otherLoad(before, synced) * 100,
      connections: Math.ceil(subscriptions / perConn),
      dropped,
    }
  })
}
