// Top functions by self time in a V8 .cpuprofile (node --cpu-prof), e.g. from `pnpm bench --profile`:
//   node src/profile-summary.mjs results/tmp/prof/tandem-A-*.cpuprofile [--top 25] [--inclusive]
// --inclusive: by total time instead (the function or anything it called on the stack; a
// recursive function counted once per sample).
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { REPO_DIR } from './paths.mjs'

const args = process.argv.slice(2)
const topAt = args.indexOf('--top')
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 25
const incAt = args.indexOf('--inclusive')
const inclusive = incAt >= 0
if (inclusive) args.splice(incAt, 1)

for (const file of args) {
  const prof = JSON.parse(readFileSync(file, 'utf8'))
  /** @type {Map<number, any>} */
  const nodes = new Map(prof.nodes.map((/** @type {any} */ n) => [n.id, n]))
  /** @type {Map<number, number>} child id → parent id */
  const parent = new Map()
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const keyOf = (/** @type {number} */ id) => {
    const f = nodes.get(id).callFrame
    const path = f.url.startsWith('file://') ? relative(REPO_DIR, f.url.slice(7)).replace(/^node_modules\/\.pnpm\/[^/]+\/node_modules\//, '') : f.url
    const where = path ? `${path}:${f.lineNumber + 1}` : ''
    return `${f.functionName || '(anonymous)'} ${where}`.trim()
  }
  /** @type {Map<string, number>} self (or total) time in µs per function */
  const self = new Map()
  let total = 0
  prof.samples.forEach((/** @type {number} */ id, /** @type {number} */ i) => {
    const dt = prof.timeDeltas[i] ?? 0
    const keys = new Set([keyOf(id)])
    if (inclusive && keyOf(id) !== '(idle)') for (let p = parent.get(id); p !== undefined; p = parent.get(p)) keys.add(keyOf(p))
    for (const key of keys) self.set(key, (self.get(key) ?? 0) + dt)
    total += dt
  })
  const idle = (self.get('(idle)') ?? 0)
  console.log(`\n${file}: ${(total / 1000).toFixed(0)} ms sampled, ${((total - idle) / 1000).toFixed(0)} ms busy`)
  const rows = [...self.entries()].filter(([k]) => k !== '(idle)' && k !== '(root)').sort((a, b) => b[1] - a[1]).slice(0, top)
  for (const [k, us] of rows) console.log(`${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / (total - idle)).toFixed(1).padStart(5)}%  ${k}`)
}
