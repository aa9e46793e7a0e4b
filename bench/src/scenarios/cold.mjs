// Scenario G: cold room loads from the store. Seed many rooms and one large document, restart the
// server (nothing in memory), then open every room once in random order (time to first sync per
// room, server CPU per load), then the large document (first load, then a wave of joiners).
import { withRig, baseArgs, sleep, samplePair } from './rig.mjs'
import { cpuBetween, otherLoad } from '../proc-stats.mjs'

/** @param {import('./rig.mjs').RunContext} ctx */
export async function runG (ctx) {
  const p = ctx.params
  return withRig(ctx, {}, async (rig) => {
    const { lg } = rig
    const open = () => lg.call('coldOpen', {
      ...baseArgs(ctx, rig.server, 'g'), rooms: p.rooms, docChars: p.docChars, edits: p.edits, concurrency: 20, seed: 7, bigChars: p.bigChars,
    })
    await open()
    const seeded = await lg.call('coldSeed')
    await sleep(p.settleMs) // debounced stores (Hocuspocus: 2 s) write before the restart
    const server = await rig.restart()
    await open()
    const a = samplePair(server, lg)
    const loads = await lg.call('coldOpenAll', { concurrency: p.concurrency })
    const b = samplePair(server, lg)
    if (loads.failed > 0) throw new Error(`${loads.failed} of ${p.rooms} cold loads failed: ${loads.firstError}`)
    const big = await lg.call('coldBig', { clients: p.joiners })
    const c = samplePair(server, lg)
    if (big.failed > 0) throw new Error(`${big.failed} of ${p.joiners} joiners of the large document failed: ${big.firstError}`)
    await lg.call('close')
    return {
      p50: loads.latencies.p50,
      p99: loads.latencies.p99,
      max: loads.latencies.max,
      cpuMsPerLoad: cpuBetween(a.server, b.server).cpuMs / p.rooms,
      loadsPerSec: p.rooms / (loads.totalMs / 1000),
      bigFirstMs: big.firstMs,
      bigWaveMs: big.waveMs,
      bigCpuMs: cpuBetween(b.server, c.server).cpuMs,
      bigMiB: seeded.bigBytes / 1024 / 1024,
      avgDocKiB: seeded.avgDocBytes / 1024,
      restartMs: server.startMs,
      rssMiB: c.server.rss / 1024,
      otherLoadPct: otherLoad(a, c) * 100,
    }
  })
}
