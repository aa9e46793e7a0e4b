// Writes results.{md,json,svg} (and bench/README.md for the committed results directory).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { resultsMarkdown } from './markdown.mjs'
import { resultsSvg } from './svg.mjs'
import { readme } from './readme.mjs'
import { BENCH_DIR, RESULTS_DIR } from '../paths.mjs'

/**
 * @param {{ machine: any, config: any, agg: Record<string, import('./aggregate.mjs').Row[]>, store: any[], goals: any[],
 *   labels: Record<string, string>, startedAt: string, durationS: number, traceInfo: any, verified: any, runs: any[] }} r
 * @param {string} outDir
 */
export function writeReports (r, outDir) {
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, 'results.md'), resultsMarkdown(r))
  writeFileSync(join(outDir, 'results.svg'), resultsSvg(r.agg, `${r.startedAt} · ${r.machine.nproc} × ${r.machine.cpuModel} · Node ${r.machine.node} · median of ${r.config.repeats}`))
  writeFileSync(join(outDir, 'results.json'), JSON.stringify({
    startedAt: r.startedAt, durationS: r.durationS, machine: r.machine, config: r.config, verified: r.verified, trace: r.traceInfo,
    labels: r.labels, summary: r.agg, scenarioF: r.store, goals: r.goals, runs: r.runs,
  }, null, 1))
  if (outDir === RESULTS_DIR) writeFileSync(join(BENCH_DIR, 'README.md'), readme(r))
}
