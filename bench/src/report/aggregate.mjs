// Raw runs -> per scenario, per target medians and ratios against the relay and the best peer.
import { median } from '../stats.mjs'
import { SCENARIOS } from '../scenarios/index.mjs'
import { STORE_PAIRS } from '../targets.mjs'

/**
 * @typedef {{ scenario: string, target: string, repeat: number, ok: boolean, result?: Record<string, any>, error?: string }} RawRun
 * @typedef {{ target: string, label: string, role: string, verified: boolean, runs: number, errors: string[],
 *   values: Record<string, number>, vsRelay: Record<string, number>, vsBestPeer: Record<string, number>, notes: string[] }} Row
 */

/**
 * @param {RawRun[]} raw
 * @param {import('../targets.mjs').Target[]} targets
 * @param {Record<string, { ok: boolean, error?: string }>} verified
 */
export function aggregate (raw, targets, verified) {
  /** @type {Record<string, Row[]>} */
  const out = {}
  for (const sc of SCENARIOS) {
    const runs = raw.filter((r) => r.scenario === sc.id)
    if (runs.length === 0) continue
    /** @type {Row[]} */
    const rows = []
    for (const t of targets) {
      const mine = runs.filter((r) => r.target === t.id)
      if (mine.length === 0) continue
      const good = mine.filter((r) => r.ok)
      /** @type {Record<string, number>} */
      const values = {}
      for (const m of sc.metrics) values[m.key] = median(good.map((r) => r.result?.[m.key]))
      const notes = []
      const flags = good.flatMap((r) => [
        r.result?.poolExhausted ? 'load pool exhausted' : '',
        r.result?.disconnected ? `${r.result.disconnected} clients disconnected` : '',
        r.result?.dropped ? `${r.result.dropped} connections dropped` : '',
        r.result?.contentOk === false || r.result?.restartContentOk === false ? `content check failed: ${r.result.contentNote}` : '',
      ]).filter(Boolean)
      notes.push(...new Set(flags))
      if (values.otherLoadPct > 25) notes.push(`machine busy: other processes used ${Math.round(values.otherLoadPct)}% of a core`)
      rows.push({
        target: t.id, label: t.label, role: t.role, verified: verified[t.id]?.ok ?? false,
        runs: good.length, errors: mine.filter((r) => !r.ok).map((r) => String(r.error).split('\n')[0]),
        values, vsRelay: {}, vsBestPeer: {}, notes,
      })
    }
    const relay = rows.find((r) => r.role === 'relay')
    for (const m of sc.metrics) {
      if (!m.ratio) continue
      const peers = rows.filter((r) => r.role === 'peer' && Number.isFinite(r.values[m.key]))
      const best = peers.length === 0 ? NaN : (m.better === 'higher' ? Math.max : Math.min)(...peers.map((r) => r.values[m.key]))
      for (const r of rows) {
        r.vsRelay[m.key] = relay ? safeRatio(r.values[m.key], relay.values[m.key]) : NaN
        r.vsBestPeer[m.key] = safeRatio(r.values[m.key], best)
      }
    }
    out[sc.id] = rows
  }
  return out
}

/**
 * Scenario S: the same A and B figures, durable store vs in-memory store, per server.
 * @param {Record<string, Row[]>} agg
 */
export function storeCost (agg) {
  const pick = (/** @type {string} */ sc, /** @type {string} */ id) => agg[sc]?.find((r) => r.target === id)?.values ?? {}
  return STORE_PAIRS.map(([durable, memory]) => {
    const [aD, aM, bD, bM] = [pick('A', durable), pick('A', memory), pick('B', durable), pick('B', memory)]
    return {
      durable, memory,
      aDeliveriesRatio: safeRatio(aD.deliveriesPerSec, aM.deliveriesPerSec),
      aCpuRatio: safeRatio(aD.cpuMsPer1000, aM.cpuMsPer1000),
      bP99Ratio: safeRatio(bD.p99, bM.p99),
      bCpuRatio: safeRatio(bD.cpuMsPer1000, bM.cpuMsPer1000),
      values: { aD, aM, bD, bM },
    }
  }).filter((r) => Number.isFinite(r.aDeliveriesRatio) || Number.isFinite(r.bP99Ratio))
}

/** A ratio only means something against a positive baseline (RSS deltas can be noise ≤ 0). @param {number} a @param {number} b */
export const safeRatio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0) ? a / b : NaN
