// Tandem's performance targets (SQLite store on), checked against the aggregated figures.
import { safeRatio } from './aggregate.mjs'

/**
 * @param {Record<string, import('./aggregate.mjs').Row[]>} agg
 * @returns {Array<{ scenario: string, goal: string, actual: string, met: boolean | null }>}
 */
export function checkGoals (agg) {
  const row = (/** @type {string} */ sc, /** @type {string} */ id) => agg[sc]?.find((r) => r.target === id)
  const v = (/** @type {string} */ sc, /** @type {string} */ id, /** @type {string} */ k) => row(sc, id)?.values[k] ?? NaN
  /** Hocuspocus' better variant for this metric (the stricter comparison). */
  const hp = (/** @type {string} */ sc, /** @type {string} */ k, /** @type {'max' | 'min'} */ best) => {
    const xs = ['hocuspocus', 'hocuspocus-sqlite'].map((id) => v(sc, id, k)).filter(Number.isFinite)
    return xs.length ? Math[best](...xs) : NaN
  }
  const fmt = (/** @type {number} */ x) => Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a'
  /** @param {string} scenario @param {string} goal @param {number} ratio @param {number} limit @param {'<=' | '>='} op */
  const goal = (scenario, goal, ratio, limit, op) => ({
    scenario, goal, actual: fmt(ratio),
    met: Number.isFinite(ratio) ? (op === '>=' ? ratio >= limit : ratio <= limit) : null,
  })
  return [
    goal('A', 'deliveries/s ≥ 1.5× Hocuspocus', safeRatio(v('A', 'tandem', 'deliveriesPerSec'), hp('A', 'deliveriesPerSec', 'max')), 1.5, '>='),
    goal('A', 'CPU per delivery ≤ 0.6× Hocuspocus', safeRatio(v('A', 'tandem', 'cpuMsPer1000'), hp('A', 'cpuMsPer1000', 'min')), 0.6, '<='),
    goal('B', 'p99 ≤ 1.5× relay', safeRatio(v('B', 'tandem', 'p99'), v('B', 'relay', 'p99')), 1.5, '<='),
    goal('C', 'RSS per idle connection ≤ 1.15× relay', safeRatio(v('C', 'tandem', 'rssPerConnKiB'), v('C', 'relay', 'rssPerConnKiB')), 1.15, '<='),
    goal('D', 'join CPU per wave ≤ 3× relay', safeRatio(v('D', 'tandem', 'waveCpuMs'), v('D', 'relay', 'waveCpuMs')), 3, '<='),
    goal('E', 'CPU per 1000 presence deliveries ≤ 1.2× relay', safeRatio(v('E', 'tandem', 'cpuMsPer1000'), v('E', 'relay', 'cpuMsPer1000')), 1.2, '<='),
  ]
}
