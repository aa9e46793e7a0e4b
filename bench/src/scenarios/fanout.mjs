// Scenarios A (closed-loop throughput) and B (latency at a fixed rate): same rooms, same
// writers, different load shape.
import { withRig, markSampler, baseArgs } from './rig.mjs'
import { cpuBetween, otherLoad } from '../proc-stats.mjs'

/**
 * @param {import('./rig.mjs').RunContext} ctx
 * @param {{ mode: 'closed', window: number } | { mode: 'open', rate: number }} load
 * @param {string} roomPrefix
 */
async function fanout (ctx, load, roomPrefix) {
  const p = ctx.params
  const writers = p.rooms * p.writers
  const seconds = (p.warmupMs + p.durationMs) / 1000
  const poolSize = load.mode === 'open' ? Math.ceil((load.rate / writers) * seconds * 1.3) + 20 : p.pool
  return withRig(ctx, {}, async ({ server, lg }) => {
    const setup = await lg.call('fanoutSetup', {
      ...baseArgs(ctx, server, roomPrefix), rooms: p.rooms, clientsPerRoom: p.clients, writersPerRoom: p.writers, poolSize, concurrency: p.concurrency,
    })
    if (setup.failed > 0) throw new Error(`${setup.failed} clients failed to connect: ${setup.firstError}`)
    const marks = markSampler(lg, server)
    const r = await lg.call('fanoutRun', { load, timing: { warmupMs: p.warmupMs, durationMs: p.durationMs } })
    const s = cpuBetween(marks.start.server, marks.stop.server)
    const l = cpuBetween(marks.start.lg, marks.stop.lg)
    await lg.call('close')
    const sec = r.elapsedMs / 1000
    // Open loop: charge the window's messages with the CPU spent until the last of them arrived,
    // so a server that falls behind is not flattered by work it left for after the window.
    const cpuPer1000 = load.mode === 'open'
      ? (cpuBetween(marks.start.server, marks.drained.server).cpuMs / r.latencies.count) * 1000
      : (s.cpuMs / r.deliveries) * 1000
    return {
      deliveriesPerSec: r.deliveries / sec,
      framesPerSec: r.framesIn / sec,
      // What the clients read off the wire in the window (headers, compression), per delivery.
      wireBytesPerDelivery: r.wireBytesIn / r.deliveries,
      updatesPerSec: r.updatesSent / sec,
      cpuMsPer1000: cpuPer1000,
      serverCpuPct: s.util * 100,
      loadgenCpuPct: l.util * 100,
      rssMiB: marks.stop.server.rss / 1024,
      otherLoadPct: otherLoad(marks.start, marks.stop) * 100,
      p50: r.latencies.p50,
      p99: r.latencies.p99,
      max: r.latencies.max,
      deliveredPct: r.expectedDeliveries ? (100 * r.latencies.count) / r.expectedDeliveries : null,
      connectMs: setup.ms,
      poolExhausted: r.poolExhausted,
      disconnected: r.disconnected,
    }
  })
}

/** @param {import('./rig.mjs').RunContext} ctx */
export const runA = (ctx) => fanout(ctx, { mode: 'closed', window: ctx.params.window }, 'a')
/** @param {import('./rig.mjs').RunContext} ctx */
export const runB = (ctx) => fanout(ctx, { mode: 'open', rate: ctx.params.rate }, 'b')
