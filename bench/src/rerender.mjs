// Re-renders results.md/.svg (and README.md) from a results.json, without measuring again:
//   node src/rerender.mjs [results/results.json]
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { writeReports } from './report/write.mjs'
import { RESULTS_DIR } from './paths.mjs'

const file = resolve(process.argv[2] ?? join(RESULTS_DIR, 'results.json'))
const j = JSON.parse(readFileSync(file, 'utf8'))
const labels = j.labels ?? Object.fromEntries(Object.values(j.summary).flat().map((/** @type {any} */ r) => [r.target, r.label]))
writeReports({
  machine: j.machine, config: j.config, agg: j.summary, store: j.scenarioF, goals: j.goals, labels,
  startedAt: j.startedAt, durationS: j.durationS, traceInfo: j.trace, verified: j.verified, runs: j.runs,
}, dirname(file))
console.log(`re-rendered ${dirname(file)}`)
