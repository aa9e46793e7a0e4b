// Load-generator process (forked by the runner). One workload at a time, driven over IPC:
// request {id, cmd, args} -> reply {id, ok, result | error}; {mark} events bracket timed windows.
import { Fanout } from './fanout.mjs'
import { Presence } from './presence.mjs'
import { Capacity } from './capacity.mjs'
import { Join } from './join.mjs'
import { ColdLoad } from './cold.mjs'
import { latencySummary } from '../stats.mjs'

/** @type {any} */
let workload = null

/** @param {string} name */
const mark = (name) => process.send?.({ mark: name })

/** Replaces raw latency samples by their summary so IPC stays small. @param {any} r */
const summarise = (r) => {
  if (r && Array.isArray(r.latencies)) r.latencies = latencySummary(r.latencies)
  return r
}

/** @type {Record<string, (args: any) => Promise<any>>} */
const commands = {
  async fanoutSetup (a) { workload = new Fanout(a); return workload.setup() },
  async fanoutRun (a) { return summarise(await workload.run(a.load, a.timing, mark)) },
  async presenceSetup (a) { workload = new Presence(a); return workload.setup() },
  async presenceRun (a) { return summarise(await workload.run(a.load, a.timing, mark)) },
  async capacitySetup (a) { workload = new Capacity(a); return workload.setup() },
  async capacityDropped () { return workload.dropped() },
  async joinOpen (a) { workload = new Join(a); return null },
  async joinSeed () { return workload.seed() },
  async joinDropHolder () { return workload.dropHolder() },
  async joinWave (a) { return workload.wave(a) },
  async joinVerify () { return workload.verifyContent() },
  async coldOpen (a) { workload = new ColdLoad(a); return null },
  async coldSeed () { return workload.seed() },
  async coldOpenAll (a) { return summarise(await workload.openAll(a)) },
  async coldBig (a) { return workload.big(a) },
  async close () { await workload?.close(); workload = null; return null },
}

process.on('message', async (/** @type {any} */ msg) => {
  const { id, cmd, args } = msg
  try {
    const fn = commands[cmd]
    if (fn === undefined) throw new Error(`unknown command ${cmd}`)
    process.send?.({ id, ok: true, result: await fn(args) })
  } catch (err) {
    process.send?.({ id, ok: false, error: String(/** @type {Error} */ (err)?.stack ?? err) })
  }
})
process.on('disconnect', () => process.exit(0))
