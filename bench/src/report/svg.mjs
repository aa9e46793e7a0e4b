// A hand-written SVG: one panel per headline metric, one bar per server, labelled with the
// value and its ratio to the ws relay.
import { SCENARIOS } from '../scenarios/index.mjs'
import { num, ratio } from './format.mjs'

const PANELS = [
  ['A', 'deliveriesPerSec', 'A: deliveries/s (higher is better)'],
  ['A', 'cpuMsPer1000', 'A: server CPU ms per 1000 deliveries'],
  ['B', 'p99', 'B: p99 latency ms at fixed load'],
  ['C', 'rssPerConnKiB', 'C: RSS KiB per idle connection'],
  ['D', 'waveCpuMs', 'D: server CPU ms per join wave'],
  ['E', 'cpuMsPer1000', 'E: server CPU ms per 1000 presence deliveries'],
]
const COLORS = { relay: '#9e9e9e', peer: '#5b8def', tandem: '#e4572e' }

/** @param {string} s */
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** @param {Record<string, import('./aggregate.mjs').Row[]>} agg @param {string} subtitle */
export function resultsSvg (agg, subtitle) {
  const width = 960
  const labelW = 250
  const barMax = width - labelW - 170
  const rowH = 20
  let y = 66
  const parts = []
  for (const [sc, key, title] of PANELS) {
    const rows = (agg[sc] ?? []).filter((r) => Number.isFinite(r.values[key]))
    if (rows.length === 0) continue
    const digits = SCENARIOS.find((s) => s.id === sc)?.metrics.find((m) => m.key === key)?.digits ?? 1
    const max = Math.max(...rows.map((r) => r.values[key]))
    parts.push(`<text x="10" y="${y}" font-weight="bold">${esc(title)}</text>`)
    y += 8
    for (const r of rows) {
      const w = max > 0 ? Math.max(1, (r.values[key] / max) * barMax) : 1
      const label = `${r.label}${r.verified ? '' : ' (unverified)'}`
      parts.push(
        `<text x="${labelW - 6}" y="${y + 14}" text-anchor="end">${esc(label)}</text>`,
        `<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${COLORS[/** @type {'relay'|'peer'|'tandem'} */ (r.role)]}"/>`,
        `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + 14}">${esc(`${num(r.values[key], digits)}  (${ratio(r.vsRelay[key])} relay)`)}</text>`,
      )
      y += rowH
    }
    y += 26
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="16" font-weight="bold">Tandem vs peers</text>`,
    `<text x="10" y="38" fill="#555">${esc(subtitle)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n')
}
