// `pnpm soak [--minutes 60] [--idle-minutes 5] [--out bench/results/soak]`: the soak of
// bench/README.md ("Soak"); results (soak.md with the chart, soak-rss.svg, soak.json) in --out.
import { parseArgs } from 'node:util'
import { join } from 'node:path'
import { RESULTS_DIR } from '../paths.mjs'
import { runSoak } from './run.mjs'

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '60' },
    'idle-minutes': { type: 'string', default: '5' },
    out: { type: 'string', default: join(RESULTS_DIR, 'soak') },
  },
})
const minutes = Number(values.minutes)
const idleMinutes = Number(values['idle-minutes'])
if (!(minutes > 0) || !(idleMinutes >= 0)) {
  console.error('usage: pnpm soak [--minutes N] [--idle-minutes N] [--out DIR]')
  process.exit(2)
}
const report = await runSoak({
  warmupMs: 30_000,
  churnMs: minutes * 60_000,
  idleMs: idleMinutes * 60_000,
  sampleEveryMs: minutes >= 10 ? 10_000 : 2_000,
  gcEveryMs: minutes >= 60 ? 300_000 : minutes >= 10 ? 60_000 : 30_000,
  outDir: values.out,
  log: (l) => console.log(l),
})
const r = report.result
console.log(`soak: RSS ${r.rssPct.toFixed(1)} %, heap ${r.heapPct.toFixed(1)} %, fds ${r.fds.join(' → ')}, resources ${Object.keys(r.resourceDiff).length === 0 ? 'same' : JSON.stringify(r.resourceDiff)}, heap growth ${r.heapGrowthMiBPerHour.toFixed(2)} MiB/h; written to ${values.out}`)
