// The Markdown tables of an editor run: medians (min-max over the repeats) and × vanilla.

const SCENARIOS = /** @type {const} */ ([['idle', 'idle, ms/s'], ['typing', 'per remote keystroke, ms'], ['carets', 'per remote caret move, ms']])

/** @typedef {{ median: number, scriptMedian: number, min: number, max: number, domP50?: number, domP95?: number, paintP50?: number, paintP95?: number }} Summary */

/**
 * @param {Record<string, Record<string, Summary>>} summary
 * @param {{ params: import('./scenarios.mjs').Params, repeats: number, big: { paragraphs: number, chars: number, keys: number, hz: number }, others: { typists: number, typistHz: number, keys: number, hz: number } }} o
 */
export function report (summary, { params, repeats, big, others }) {
  const names = Object.keys(summary)
  const base = summary.vanilla
  const ratio = (/** @type {string} */ k, /** @type {keyof Summary} */ f, /** @type {number | undefined} */ v) => {
    const b = base?.[k]?.[f]
    return base && typeof b === 'number' && typeof v === 'number' ? ` (${(v / b).toFixed(2)}×)` : ''
  }
  const cell = (/** @type {string} */ name, /** @type {string} */ k) => {
    const s = summary[name][k]
    if (!s) return '–'
    return `${s.median.toFixed(2)}${ratio(k, 'median', s.median)} [${s.min.toFixed(2)}–${s.max.toFixed(2)}]`
  }
  const lat = (/** @type {string} */ name, /** @type {string} */ k, /** @type {keyof Summary} */ f) => {
    const v = summary[name][k]?.[f]
    return typeof v === 'number' ? `${v.toFixed(1)}${ratio(k, f, v)}` : '–'
  }
  const lines = [`Renderer main-thread time (CDP TaskDuration), median of ${repeats} [min–max], × vanilla:`, '']
  const cpu = SCENARIOS.filter(([k]) => names.some((n) => summary[n][k]))
  if (cpu.length) {
    lines.push(
      `| page | ${cpu.map(([, h]) => h).join(' | ')} |`,
      `|---|${cpu.map(() => '---:').join('|')}|`,
      ...names.map((name) => `| ${name} | ${cpu.map(([k]) => cell(name, k)).join(' | ')} |`),
      '',
      `Of which script (ScriptDuration), medians: ${names.map((name) => `${name} ${cpu.map(([k]) => summary[name][k]?.scriptMedian.toFixed(2) ?? '–').join(' / ')}`).join('; ')}`,
      '',
      `Idle ${params.idleS} s with one other client connected; ${params.keys} keystrokes at ${params.keyHz}/s; ${params.carets} carets × ${params.caretHz} moves/s × ${params.caretS} s.`,
      '',
    )
  }
  if (names.some((n) => summary[n].open || summary[n].bigkey || summary[n].typists)) {
    lines.push(
      `Large document and local keystrokes (ms; medians over the repeats of each repeat's p50 / p95), × vanilla:`,
      '',
      '| page | 1 MB document shown | keystroke in it: keydown→DOM p50 | →paint p50 | →paint p95 | main thread per key | with typists: keydown→paint p50 | →paint p95 | keydown→DOM p95 |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...names.map((n) => `| ${n} | ${summary[n].open ? cell(n, 'open') : '–'} | ${lat(n, 'bigkey', 'domP50')} | ${lat(n, 'bigkey', 'paintP50')} | ${lat(n, 'bigkey', 'paintP95')} | ${summary[n].bigkey ? cell(n, 'bigkey') : '–'} | ${lat(n, 'typists', 'paintP50')} | ${lat(n, 'typists', 'paintP95')} | ${lat(n, 'typists', 'domP95')} |`),
      '',
      `1 MB document: ${big.paragraphs} paragraphs × ${big.chars} characters, navigation → first paint with all blocks in the DOM; ${big.keys} keystrokes at ${big.hz}/s at the end of paragraph ${Math.floor(big.paragraphs / 2)}. ` +
        `Typists: ${others.typists} Node peers × ${others.typistHz} characters/s, each in its own paragraph, while the page types ${others.keys} keys at ${others.hz}/s.`,
    )
  }
  return lines.join('\n')
}
