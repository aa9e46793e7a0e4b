// RSS and heap over a soak run, as an SVG file and as an ASCII chart for a markdown page.

const MiB = 1024 * 1024

/**
 * @param {import('./measure.mjs').Sample[]} samples
 * @param {{ phases: Array<{ name: string, t: number }> }} o
 */
export function svgChart (samples, o) {
  const W = 900
  const H = 320
  const pad = { l: 60, r: 20, t: 20, b: 40 }
  const tMax = Math.max(1, ...samples.map((s) => s.t))
  const yMax = Math.max(1, ...samples.map((s) => s.rss)) * 1.1
  const x = (/** @type {number} */ t) => pad.l + (t / tMax) * (W - pad.l - pad.r)
  const y = (/** @type {number} */ v) => H - pad.b - (v / yMax) * (H - pad.t - pad.b)
  const line = (/** @type {(s: import('./measure.mjs').Sample) => number} */ f) => samples.map((s) => `${x(s.t).toFixed(1)},${y(f(s)).toFixed(1)}`).join(' ')
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * yMax)
  const tTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * tMax)
  const fmtT = (/** @type {number} */ t) => (tMax > 300 ? `${(t / 60).toFixed(0)} min` : `${t.toFixed(0)} s`)
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
  <rect width="${W}" height="${H}" fill="white"/>
  ${ticks.map((v) => `<line x1="${pad.l}" x2="${W - pad.r}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/><text x="${pad.l - 6}" y="${y(v) + 4}" text-anchor="end">${(v / MiB).toFixed(0)} MiB</text>`).join('\n  ')}
  ${tTicks.map((t) => `<text x="${x(t)}" y="${H - pad.b + 16}" text-anchor="middle">${fmtT(t)}</text>`).join('\n  ')}
  ${o.phases.map((p) => `<line x1="${x(p.t)}" x2="${x(p.t)}" y1="${pad.t}" y2="${H - pad.b}" stroke="#999" stroke-dasharray="4 3"/><text x="${x(p.t) + 3}" y="${pad.t + 10}">${p.name}</text>`).join('\n  ')}
  <polyline fill="none" stroke="#c0392b" stroke-width="1.5" points="${line((s) => s.rss)}"/>
  <polyline fill="none" stroke="#2980b9" stroke-width="1.5" points="${line((s) => s.heapUsed)}"/>
  ${samples.filter((s) => s.gc).map((s) => `<circle cx="${x(s.t).toFixed(1)}" cy="${y(s.heapUsed).toFixed(1)}" r="2.5" fill="#2980b9"/>`).join('')}
  <text x="${pad.l + 10}" y="${H - 8}" fill="#c0392b">RSS</text><text x="${pad.l + 50}" y="${H - 8}" fill="#2980b9">V8 heap used (dots: after a full GC)</text>
</svg>
`
}

/** An ASCII chart of RSS over time (rows: MiB, columns: time). @param {import('./measure.mjs').Sample[]} samples */
export function asciiChart (samples, width = 72, height = 12) {
  if (samples.length === 0) return ''
  const tMax = Math.max(1, ...samples.map((s) => s.t))
  const vals = samples.map((s) => s.rss / MiB)
  const lo = Math.floor(Math.min(...vals))
  const hi = Math.ceil(Math.max(...vals)) + 1
  /** @type {number[]} */
  const cols = Array.from({ length: width }, (_, i) => {
    const inCol = samples.filter((s) => Math.min(width - 1, Math.floor((s.t / tMax) * (width - 1))) === i).map((s) => s.rss / MiB)
    return inCol.length ? Math.max(...inCol) : NaN
  })
  const rows = []
  for (let r = height - 1; r >= 0; r--) {
    const v = lo + ((hi - lo) * r) / (height - 1)
    rows.push(`${v.toFixed(0).padStart(5)} MiB |${cols.map((c) => (Number.isNaN(c) ? ' ' : c >= v ? '█' : ' ')).join('')}`)
  }
  rows.push(`${' '.repeat(10)}+${'-'.repeat(width)}`)
  rows.push(`${' '.repeat(11)}0${`${tMax > 300 ? `${(tMax / 60).toFixed(0)} min` : `${tMax.toFixed(0)} s`}`.padStart(width - 1)}`)
  return rows.join('\n')
}
