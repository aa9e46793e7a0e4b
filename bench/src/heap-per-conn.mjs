// Live heap per idle connection (scenario C's layout), without RSS noise: each server runs with
// --expose-gc and a probe (heap/probe.mjs) that forces two GCs before reading heapUsed.
//   node src/heap-per-conn.mjs [--targets relay,tandem] [--rooms 500] [--clients 10] [--repeats 2]
// HEAP_PROBE_SNAPSHOTS=1 also writes a heap snapshot at both probes (kept in a heap-snap-* temp
// directory, named by the run) for comparing what each server holds per connection.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { TARGETS } from './targets.mjs'
import { startServer } from './server-process.mjs'
import { startLoadgen } from './loadgen-handle.mjs'
import { BENCH_DIR } from './paths.mjs'

const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: 'relay,tandem' },
    rooms: { type: 'string', default: '500' },
    clients: { type: 'string', default: '10' },
    repeats: { type: 'string', default: '2' },
  },
})
const rooms = Number(values.rooms)
const clients = Number(values.clients)

/** @param {string} file @param {number} pid @param {number} n */
async function probe (file, pid, n) {
  process.kill(pid, 'SIGUSR2')
  const deadline = Date.now() + 10_000
  for (;;) {
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean)
    if (lines.length >= n) return JSON.parse(lines[n - 1])
    if (Date.now() > deadline) throw new Error('heap probe did not answer')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

for (let rep = 0; rep < Number(values.repeats); rep++) {
  for (const id of values.targets.split(',')) {
    const target = TARGETS.find((t) => t.id === id)
    if (!target) throw new Error(`unknown target ${id}`)
    const dataDir = mkdtempSync(join(tmpdir(), `tandem-heap-${id}-`))
    const keep = process.env.HEAP_PROBE_SNAPSHOTS ? mkdtempSync(join(tmpdir(), `heap-snap-${id}-`)) : dataDir
    const file = join(keep, 'heap-probe.jsonl')
    writeFileSync(file, '')
    process.env.HEAP_PROBE_FILE = file
    const server = await startServer(target, { dataDir, nodeArgs: ['--expose-gc', '--import', join(BENCH_DIR, 'src/heap/probe.mjs')] })
    const lg = startLoadgen()
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const before = await probe(file, server.pid, 1)
      const setup = await lg.call('capacitySetup', { base: server.base, proto: target.proto, roomPrefix: 'h', rooms, clientsPerRoom: clients, concurrency: 100 })
      if (setup.failed) throw new Error(`${setup.failed} connections failed: ${setup.firstError}`)
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const after = await probe(file, server.pid, 2)
      const n = rooms * clients
      console.log(`${id.padEnd(20)} ${rooms}x${clients}: heap ${Math.round((after.heapUsed - before.heapUsed) / n)} B/conn, external ${Math.round((after.external - before.external) / n)} B/conn, rss ${((after.rss - before.rss) / n / 1024).toFixed(2)} KiB/conn`)
      await lg.call('close')
      if (keep !== dataDir) console.log(`  snapshots in ${keep}`)
    } finally {
      await lg.stop()
      await server.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}
