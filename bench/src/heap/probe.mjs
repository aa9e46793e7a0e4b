// Preloaded into a server under test (node --expose-gc --import): on SIGUSR2, two full GCs, then
// the live heap and RSS appended as one JSON line to $HEAP_PROBE_FILE. Lets heap-per-conn.mjs
// read a server's live heap without touching its code.
import { appendFileSync } from 'node:fs'
import { writeHeapSnapshot } from 'node:v8'

const file = process.env.HEAP_PROBE_FILE
if (file && typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    globalThis.gc()
    globalThis.gc()
    const m = process.memoryUsage()
    if (process.env.HEAP_PROBE_SNAPSHOTS) writeHeapSnapshot(`${file}.${Date.now()}.heapsnapshot`)
    appendFileSync(file, JSON.stringify({ heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss }) + '\n')
  })
}
