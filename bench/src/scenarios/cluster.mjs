// Scenario F: scenarios A's and B's load on a server cluster, each room's clients split over its
// servers (bench/src/loadgen/fanout.mjs), next to one server of the same kind. CPU is the sum over
// the cluster's processes: what a delivery costs the whole deployment.
import { runA, runB } from './fanout.mjs'

/** @param {import('./rig.mjs').RunContext} ctx */
export async function runF (ctx) {
  const a = await runA(ctx)
  const b = await runB(ctx)
  return {
    deliveriesPerSec: a.deliveriesPerSec,
    cpuMsPer1000: a.cpuMsPer1000,
    p99: b.p99,
    p50: b.p50,
    bCpuMsPer1000: b.cpuMsPer1000,
    deliveredPct: b.deliveredPct,
    rssMiB: Math.max(a.rssMiB, b.rssMiB),
    otherLoadPct: Math.max(a.otherLoadPct, b.otherLoadPct),
  }
}
