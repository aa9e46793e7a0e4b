// Micro-benchmark: @tandem/sync's scanUpdate against Y.decodeUpdate and validateUpdate (which
// wraps Y.decodeUpdate), on three updates: a one-keystroke typing update, a ~370 KB document
// state, and a 4 MiB update of 2-byte GC structs (the cheapest struct to send, the costliest to
// decode). Time per operation and bytes allocated per operation (heap growth plus what GCs freed,
// from v8.GCProfiler).
//   pnpm --filter @tandem/sync build && node --expose-gc bench/src/update-scan-bench.mjs [--rounds 5] [--ms 300]
import { parseArgs } from 'node:util'
import v8 from 'node:v8'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { scanUpdate, validateUpdate } from '../../packages/sync/dist/protocol/index.js'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, ms: { type: 'string', default: '300' } } })
const ROUNDS = Number(values.rounds)
const ROUND_MS = Number(values.ms)
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc')

function rng (seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** one keystroke in the middle of a paragraph, as a provider sends it */
function typingUpdate () {
  const doc = new Y.Doc()
  doc.clientID = 3_000_000_001
  const t = doc.getText('content')
  t.insert(0, 'The quick brown fox jumps over the lazy dog.')
  let update
  doc.on('update', (u) => { update = u })
  t.insert(20, 'x')
  return update
}

/** a document several clients edited: typing runs at moving cursors, backspaces, formatting */
function documentState (targetBytes) {
  const next = rng(370)
  const docs = [1, 2, 3].map((id) => {
    const d = new Y.Doc()
    d.clientID = 1_000_000_000 + id
    return d
  })
  const words = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit', 'sed', 'do', 'eiusmod', 'tempor', 'ünïcödé', '日本語', '🎉']
  for (let session = 0; ; session++) {
    const doc = docs[session % 3]
    const t = doc.getText('content')
    let pos = Math.floor(next() * (t.length + 1))
    const r = next()
    if (r < 0.15 && t.length > 50) {
      const n = 1 + Math.floor(next() * 12)
      for (let k = 0; k < n && pos > 0; k++) t.delete(--pos, 1) // backspace
    } else if (r < 0.22 && t.length > 50) {
      t.format(Math.max(0, pos - 20), 10 + Math.floor(next() * 20), { bold: next() < 0.5 ? true : null })
    } else {
      const n = 1 + Math.floor(next() * 8)
      for (let k = 0; k < n; k++) {
        for (const ch of `${words[Math.floor(next() * words.length)]} `) { t.insert(pos, ch); pos += ch.length }
      }
    }
    if (session % 50 === 49) {
      for (const a of docs) for (const b of docs) if (a !== b) Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
      const size = Y.encodeStateAsUpdate(docs[0]).length
      if (size >= targetBytes) return Y.encodeStateAsUpdate(docs[0])
    }
  }
}

/** [1 client block][n structs][client][clock 0] n x [info 0: GC][len 1], [0 delete-set clients] */
function gcFlood (bytes) {
  const n = Math.floor((bytes - 16) / 2)
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, n)
  encoding.writeVarUint(e, 123456789)
  encoding.writeVarUint(e, 0)
  for (let i = 0; i < n; i++) { encoding.writeUint8(e, 0); encoding.writeUint8(e, 1) }
  encoding.writeVarUint(e, 0)
  return encoding.toUint8Array(e)
}

let sink = 0
const candidates = {
  scanUpdate: (u) => { sink += scanUpdate(u).structs },
  'Y.decodeUpdate': (u) => { sink += Y.decodeUpdate(u).structs.length },
  validateUpdate: (u) => { sink += validateUpdate(u) ? 1 : 0 },
}

/** CPU time of this process (all its threads: GC helpers included), in ns */
const cpuNs = () => {
  const { user, system } = process.cpuUsage()
  return (user + system) * 1000
}

/**
 * ns per op: the median of ROUNDS rounds of ~ROUND_MS each, in process CPU time (the machine is
 * shared: wall time counts other people's work) and in wall time.
 */
function time (fn, u) {
  let reps = 1
  for (;;) { // calibrate
    const t0 = cpuNs()
    for (let i = 0; i < reps; i++) fn(u)
    const ns = cpuNs() - t0
    if (ns > ROUND_MS * 1e6 / 4 || reps > 1e7) { reps = Math.max(1, Math.round(reps * ROUND_MS * 1e6 / ns)); break }
    reps *= 4
  }
  const cpu = []
  const wall = []
  for (let r = 0; r < ROUNDS; r++) {
    globalThis.gc()
    const w0 = process.hrtime.bigint()
    const c0 = cpuNs()
    for (let i = 0; i < reps; i++) fn(u)
    cpu.push((cpuNs() - c0) / reps)
    wall.push(Number(process.hrtime.bigint() - w0) / reps)
  }
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1]
  return { cpu: median(cpu), wall: median(wall) }
}

/** bytes allocated per op: heap growth over `reps` ops plus everything the GCs during them freed */
function allocated (fn, u, reps) {
  globalThis.gc()
  const profiler = new v8.GCProfiler()
  profiler.start()
  const before = v8.getHeapStatistics().used_heap_size
  for (let i = 0; i < reps; i++) fn(u)
  const after = v8.getHeapStatistics().used_heap_size
  const { statistics } = profiler.stop()
  let freed = 0
  for (const s of statistics) freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize
  return (after - before + freed) / reps
}

const fmtNs = (ns) => ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`
const fmtBytes = (b) => Math.abs(b) >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : Math.abs(b) >= 1024 ? `${(b / 1024).toFixed(1)} KiB` : `${Math.round(b)} B`

const cases = [
  ['typing update', typingUpdate()],
  ['document state', documentState(370_000)],
  ['GC flood', gcFlood(4 * 1024 * 1024)],
]

console.log(`node ${process.version}, yjs 13.6.33; median of ${ROUNDS} rounds of ~${ROUND_MS} ms\n`)
console.log('| update | bytes | structs | | scanUpdate | Y.decodeUpdate | validateUpdate |')
console.log('|---|---:|---:|---|---:|---:|---:|')
for (const [name, u] of cases) {
  const scan = scanUpdate(u)
  if (scan.structs !== Y.decodeUpdate(u).structs.length) throw new Error(`${name}: struct counts differ`)
  const ns = {}
  const bytes = {}
  for (const [label, fn] of Object.entries(candidates)) {
    for (let i = 0; i < 3; i++) fn(u) // warm up
    ns[label] = time(fn, u)
    bytes[label] = allocated(fn, u, Math.max(1, Math.min(10_000, Math.round(1e9 / ns[label].cpu)))) // ~1 s of ops
  }
  const labels = Object.keys(candidates)
  console.log(`| ${name} | ${u.length.toLocaleString('en')} | ${scan.structs.toLocaleString('en')} | CPU time | ${labels.map((l) => fmtNs(ns[l].cpu)).join(' | ')} |`)
  console.log(`| | | | wall time | ${labels.map((l) => fmtNs(ns[l].wall)).join(' | ')} |`)
  console.log(`| | | | allocated | ${labels.map((l) => fmtBytes(bytes[l])).join(' | ')} |`)
}
if (sink === 0.5) console.log(sink)
