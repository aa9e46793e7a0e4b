// Markdown tables: one per scenario (one row per server), scenario S, and Tandem's goals.
import { SCENARIOS } from '../scenarios/index.mjs'
import { num, ratio } from './format.mjs'

/**
 * @param {import('./aggregate.mjs').Row[]} rows @param {import('../scenarios/index.mjs').Scenario} sc
 */
function scenarioTable (rows, sc) {
  const head = ['server', 'verified']
  for (const m of sc.metrics) {
    head.push(m.label)
    if (m.ratio) head.push('× relay', '× best peer')
  }
  head.push('runs', 'notes')
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => i < 2 ? '---' : '---:').join('|')}|`]
  for (const r of rows) {
    const cells = [r.label, r.verified ? 'yes' : '**unverified**']
    for (const m of sc.metrics) {
      cells.push(num(r.values[m.key], m.digits ?? 1))
      if (m.ratio) cells.push(ratio(r.vsRelay[m.key]), r.role === 'peer' || r.role === 'tandem' ? ratio(r.vsBestPeer[m.key]) : '—')
    }
    cells.push(String(r.runs), [...r.notes, ...r.errors.map((e) => `error: ${e}`)].join('; ').replace(/\|/g, '/'))
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

/** @param {ReturnType<typeof import('./aggregate.mjs').storeCost>} pairs @param {Record<string, string>} labels */
function storeTable (pairs, labels) {
  const lines = [
    '| server (durable vs in-memory) | A deliveries/s | A CPU / 1k deliveries | B p99 | B CPU / 1k deliveries |',
    '|---|---:|---:|---:|---:|',
  ]
  for (const p of pairs) {
    lines.push(`| ${labels[p.durable]} vs ${labels[p.memory]} | ${ratio(p.aDeliveriesRatio)} (${num(p.values.aD.deliveriesPerSec, 0)} vs ${num(p.values.aM.deliveriesPerSec, 0)}) | ${ratio(p.aCpuRatio)} | ${ratio(p.bP99Ratio)} (${num(p.values.bD.p99, 2)} vs ${num(p.values.bM.p99, 2)} ms) | ${ratio(p.bCpuRatio)} |`)
  }
  return lines.join('\n')
}

/** @param {ReturnType<typeof import('./goals.mjs').checkGoals>} goals */
export function goalsTable (goals) {
  const lines = ['| scenario | target for Tandem (SQLite) | actual | met |', '|---|---|---:|---|']
  for (const g of goals) lines.push(`| ${g.scenario} | ${g.goal} | ${g.actual} | ${g.met === null ? 'n/a' : g.met ? 'yes' : '**no**'} |`)
  return lines.join('\n')
}

/**
 * @param {{ machine: any, config: import('../config.mjs').Config, agg: Record<string, import('./aggregate.mjs').Row[]>,
 *   store: ReturnType<typeof import('./aggregate.mjs').storeCost>, goals: ReturnType<typeof import('./goals.mjs').checkGoals>,
 *   labels: Record<string, string>, startedAt: string, durationS: number, traceInfo: any }} r
 */
export function resultsMarkdown (r) {
  const m = r.machine
  const out = [
    '# Tandem benchmark results',
    '',
    `${r.startedAt}, ${Math.round(r.durationS / 60)} min. Machine: ${m.nproc} × ${m.cpuModel}, ${m.memGiB} GiB, Node ${m.node}, Linux ${m.kernel}. ` +
      `${r.config.repeats} interleaved repeat(s), medians shown${r.config.quick ? ' (**--quick**: tiny sizes, smoke test only)' : ''}.`,
    'Ratios: value ÷ the ws relay\'s, and ÷ the best peer\'s (best of @y/websocket-server, Hocuspocus, Hocuspocus+SQLite for that column). CPU = utime+stime of the server process from /proc; RSS = VmRSS.',
    '',
  ]
  if (r.goals.length) out.push('## Tandem against its targets', '', goalsTable(r.goals), '')
  for (const sc of SCENARIOS) {
    const rows = r.agg[sc.id]
    if (!rows) continue
    out.push(`## ${sc.id}. ${sc.title}`, '', sc.describe(r.config.params[sc.id]), '')
    if (sc.id === 'D' && r.traceInfo) out.push(`Document: ${r.traceInfo.inserts} inserts + ${r.traceInfo.deletes} deletes, ${r.traceInfo.chars} chars, ${num(r.traceInfo.stateBytes, 0)} bytes encoded.`, '')
    out.push(scenarioTable(rows, sc), '')
  }
  if (r.store.length) {
    out.push('## S. Durability cost', '', 'Scenarios A and B with the durable store divided by the same server with an in-memory store (> 1× for deliveries/s means faster with the store).', '', storeTable(r.store, r.labels), '')
  }
  return out.join('\n')
}
