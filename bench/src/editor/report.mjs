// The Markdown table of an editor run: medians (min-max over the repeats) and × vanilla.

const SCENARIOS = /** @type {const} */ ([['idle', 'idle, ms/s'], ['typing', 'per remote keystroke, ms'], ['carets', 'per remote caret move, ms']])

/** @param {Record<string, Record<string, { median: number, scriptMedian: number, min: number, max: number }>>} summary */
export function report (summary, { params, repeats }) {
  const base = summary.vanilla
  const cell = (/** @type {string} */ name, /** @type {string} */ k) => {
    const s = summary[name][k]
    const ratio = base ? ` (${(s.median / base[k].median).toFixed(2)}×)` : ''
    return `${s.median.toFixed(2)}${ratio} [${s.min.toFixed(2)}–${s.max.toFixed(2)}]`
  }
  const lines = [
    `Renderer main-thread time (CDP TaskDuration), median of ${repeats} [min–max], × vanilla:`,
    '',
    `| page | ${SCENARIOS.map(([, h]) => h).join(' | ')} |`,
    `|---|${SCENARIOS.map(() => '---:').join('|')}|`,
    ...Object.keys(summary).map((name) => `| ${name} | ${SCENARIOS.map(([k]) => cell(name, k)).join(' | ')} |`),
    '',
    `Of which script (ScriptDuration), medians: ${Object.keys(summary).map((name) => `${name} ${SCENARIOS.map(([k]) => summary[name][k].scriptMedian.toFixed(2)).join(' / ')}`).join('; ')}`,
    '',
    `Idle ${params.idleS} s with one other client connected; ${params.keys} keystrokes at ${params.keyHz}/s; ${params.carets} carets × ${params.caretHz} moves/s × ${params.caretS} s.`,
  ]
  return lines.join('\n')
}
