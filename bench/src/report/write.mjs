// Writes results.{md,json,svg} (and bench/README.md for the committed results directory).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
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
  if (outDir === RESULTS_DIR) writeReadme(r)
}

/** Where bench/README.md's hand-written sections (compression, soak, editor, …) start: kept as they are. */
const HAND_WRITTEN = '<!-- Sections below are written by hand; the bench runner keeps them when it rewrites the part above. -->'

/** @param {Parameters<typeof readme>[0]} r */
function writeReadme (r) {
  const path = join(BENCH_DIR, 'README.md')
  const old = existsSync(path) ? readFileSync(path, 'utf8') : ''
  const at = old.indexOf(HAND_WRITTEN)
  writeFileSync(path, `${readme(r)}\n${at >= 0 ? old.slice(at) : `${HAND_WRITTEN}\n`}`)
}
