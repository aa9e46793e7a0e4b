// Scenario D: a ~370 KB document built from a long editing trace; waves of joiners, then the
// same after a graceful restart (durable targets only: the others lose the document).
import { withRig, sleep, samplePair } from './rig.mjs'
import { sample, cpuBetween, otherLoad } from '../proc-stats.mjs'
import { median } from '../stats.mjs'

const ROOM = 'large-doc'

/** @param {import('./rig.mjs').RunContext} ctx */
export async function runD (ctx) {
  const p = ctx.params
  const relay = ctx.target.proto === 'relay'
  return withRig(ctx, { replay: relay }, async (rig) => {
    const { lg } = rig
    const open = () => lg.call('joinOpen', { base: rig.server.base, proto: ctx.target.proto, room: ROOM, tracePath: ctx.tracePath })
    await open()
    const s0 = sample(rig.server.pid)
    const seed = await lg.call('joinSeed')
    const seedCpuMs = cpuBetween(s0, sample(rig.server.pid)).cpuMs
    await sleep(p.settleMs) // let debounced stores (Hocuspocus: 2 s) run before timing
    const wave = async () => {
      const a = samplePair(rig.server, lg)
      const w = await lg.call('joinWave', { clients: p.clients })
      const b = samplePair(rig.server, lg)
      if (w.failed > 0) throw new Error(`${w.failed} of ${p.clients} joiners did not get the document: ${w.firstError ?? ''}`)
      return { ms: w.ms, cpuMs: cpuBetween(a.server, b.server).cpuMs, minBytes: w.minBytes, wireBytes: w.wireBytesPerJoiner, rssMiB: b.server.rss / 1024, other: otherLoad(a, b) }
    }
    const waves = []
    for (let i = 0; i < p.waves; i++) waves.push(await wave())
    const verified = await lg.call('joinVerify')
    /** @type {Record<string, any>} */
    const out = {
      waveMs: median(waves.map((w) => w.ms)),
      // Total over all waves: /proc CPU ticks are 10 ms, finer than one wave of the relay.
      waveCpuMs: waves.reduce((n, w) => n + w.cpuMs, 0) / waves.length,
      docBytes: Math.min(...waves.map((w) => w.minBytes)),
      // Bytes one joiner read off the wire (everything until the document was in: compressed with WS_COMPRESSION=on).
      wireKiBPerJoiner: median(waves.map((w) => w.wireBytes)) / 1024,
      seedMs: seed.seedMs,
      seedCpuMs,
      rssMiB: Math.max(...waves.map((w) => w.rssMiB)),
      otherLoadPct: median(waves.map((w) => w.other)) * 100,
      contentOk: verified.ok,
      contentNote: verified.why,
      restartMs: null,
      restartWaveMs: null,
      restartWaveCpuMs: null,
      restartContentOk: null,
    }
    if (ctx.target.durable) {
      await lg.call('joinDropHolder')
      await sleep(p.settleMs)
      const server = await rig.restart()
      out.restartMs = server.startMs
      await open()
      const w = await wave()
      out.restartWaveMs = w.ms
      out.restartWaveCpuMs = w.cpuMs
      const v = await lg.call('joinVerify')
      out.restartContentOk = v.ok
      if (!v.ok) out.contentNote += ` after restart: ${v.why}`
    }
    await lg.call('close')
    return out
  })
}
