// Where a renderer's main thread spent a window, from a Chrome trace (CDP Tracing,
// devtools.timeline categories): self time per trace event name (Layout, Paint,
// FunctionCall, …), nested events subtracted. For native work a CPU profile shows only as
// "(program)".
//   node src/editor/trace-summary.mjs results/tmp/editor/tandem-bigkey-0.trace.json [--top 20]
import { readFileSync } from 'node:fs'

/**
 * @param {any[]} events trace events
 * @returns {Array<[string, number]>} [name, self ms] of the busiest renderer main thread, largest first
 */
function selfTimes (events) {
  const main = events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
  /** @type {Map<string, Map<string, number>>} per pid:tid */
  const byThread = new Map()
  for (const m of main) {
    const key = `${m.pid}:${m.tid}`
    const xs = events.filter((e) => e.ph === 'X' && `${e.pid}:${e.tid}` === key && typeof e.dur === 'number').sort((a, b) => a.ts - b.ts || b.dur - a.dur)
    /** @type {Map<string, number>} */
    const self = new Map()
    /** @type {Array<{ end: number, name: string, child: number, dur: number }>} */
    const stack = []
    const pop = () => {
      const top = /** @type {{ end: number, name: string, child: number, dur: number }} */ (stack.pop())
      self.set(top.name, (self.get(top.name) ?? 0) + top.dur - top.child)
    }
    for (const e of xs) {
      while (stack.length && stack[stack.length - 1].end <= e.ts) pop()
      if (stack.length) stack[stack.length - 1].child += e.dur
      stack.push({ end: e.ts + e.dur, name: e.name, child: 0, dur: e.dur })
    }
    while (stack.length) pop()
    byThread.set(key, self)
  }
  const busiest = [...byThread.values()].sort((a, b) => sum(b) - sum(a))[0] ?? new Map()
  return [...busiest.entries()].map(([k, us]) => /** @type {[string, number]} */ ([k, us / 1000])).sort((a, b) => b[1] - a[1])
}

const sum = (/** @type {Map<string, number>} */ m) => [...m.values()].reduce((a, b) => a + b, 0)

const args = process.argv.slice(2)
const topAt = args.indexOf('--top')
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 20
for (const file of args) {
  const rows = selfTimes(JSON.parse(readFileSync(file, 'utf8')))
  const total = rows.reduce((a, [, ms]) => a + ms, 0)
  console.log(`\n${file}: ${total.toFixed(0)} ms in trace events on the renderer main thread`)
  for (const [name, ms] of rows.slice(0, top)) console.log(`${ms.toFixed(1).padStart(9)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${name}`)
}
