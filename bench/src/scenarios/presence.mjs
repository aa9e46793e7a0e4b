// Scenario E: carets moving at a fixed rate in every room.
import { withRig, markSampler, baseArgs } from './rig.mjs'
import { cpuBetween, otherLoad } from '../proc-stats.mjs'

/** @param {import('./rig.mjs').RunContext} ctx */
export async function runE (ctx) {
  const p = ctx.params
  const poolSize = Math.ceil(p.hz * ((p.warmupMs + p.durationMs) / 1000) * 1.3) + 20
  return withRig(ctx, {}, async ({ server, lg }) => {
    const setup = await lg.call('presenceSetup', { ...baseArgs(ctx, server, 'e'), rooms: p.rooms, clientsPerRoom: p.clients, poolSize, concurrency: p.concurrency })
    if (setup.failed > 0) throw new Error(`${setup.failed} clients failed to connect: ${setup.firstError}`)
    const marks = markSampler(lg, server)
    const r = await lg.call('presenceRun', { load: { hz: p.hz }, timing: { warmupMs: p.warmupMs, durationMs: p.durationMs } })
    const s = cpuBetween(marks.start.server, marks.stop.server)
    const l = cpuBetween(marks.start.lg, marks.stop.lg)
    await lg.call('close')
    return {
      // The window's presence updates, charged with the CPU spent until the last of them arrived.
      cpuMsPer1000: (cpuBetween(marks.start.server, marks.drained.server).cpuMs / r.latencies.count) * 1000,
      deliveriesPerSec: r.deliveries / (r.elapsedMs / 1000),
      p50: r.latencies.p50,
      p99: r.latencies.p99,
      max: r.latencies.max,
      deliveredPct: (100 * r.latencies.count) / r.expectedDeliveries,
      serverCpuPct: s.util * 100,
      loadgenCpuPct: l.util * 100,
      rssMiB: marks.stop.server.rss / 1024,
      otherLoadPct: otherLoad(marks.start, marks.stop) * 100,
      poolExhausted: r.poolExhausted,
      disconnected: r.disconnected,
    }
  })
}
