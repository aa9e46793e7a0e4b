// One sample of a server process: RSS and open file descriptors from /proc, heap and active
// resources (timers, sockets) from the process itself (inspector.mjs), loaded rooms and open
// connections from its /metrics.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'
import http from 'node:http'

/** @param {number} pid */
const rssBytes = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : NaN
}

/** @param {number} pid */
const openFds = (pid) => readdirSync(`/proc/${pid}/fd`).length

/** What each descriptor is (socket:[inode], pipe, a file path), sorted: to tell which one stayed. @param {number} pid */
const fdTargets = (pid) => readdirSync(`/proc/${pid}/fd`).map((fd) => {
  try { return readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/\[\d+\]$/, '') } catch { return 'gone' }
}).sort()

/**
 * Loaded rooms and open connections from /metrics, on a connection of its own that the server
 * closes after the answer (no keep-alive socket of the sampler's left in the descriptor count).
 * @param {string} httpBase @returns {Promise<{ rooms: number, connections: number }>}
 */
export function serverGauges (httpBase) {
  return new Promise((resolve, reject) => {
    const req = http.get(`${httpBase}/metrics`, { agent: false, headers: { connection: 'close' } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d) => { text += d })
      res.on('end', () => {
        const gauge = (/** @type {string} */ name) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN)
        resolve({ rooms: gauge('tandem_rooms'), connections: gauge('tandem_connections') })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
  })
}

/**
 * @typedef {{ t: number, rss: number, heapUsed: number, heapTotal: number, external: number,
 *   fds: number, timers: number, timerList?: string[], fdList?: string[], resources: Record<string, number>, rooms: number, connections: number, gc: boolean }} Sample
 */

/**
 * @param {{ pid: number, http: string, inspector: Awaited<ReturnType<typeof import('./inspector.mjs').connectInspector>> }} server
 * @param {{ t0: number, gc?: boolean }} o
 * @returns {Promise<Sample>}
 */
export async function sample (server, o) {
  if (o.gc) await server.inspector.gc()
  // Descriptors and resources first, before this sample's own /metrics request opens a socket.
  const fds = openFds(server.pid)
  const fdList = o.gc ? fdTargets(server.pid) : undefined
  const [mem, resources] = await Promise.all([server.inspector.memory(), server.inspector.resources()])
  // Counting timers walks the heap (and collects garbage): only on the samples that collect anyway.
  const timerList = o.gc ? await server.inspector.timers() : undefined
  const gauges = await serverGauges(server.http)
  return {
    t: (performance.now() - o.t0) / 1000,
    rss: rssBytes(server.pid),
    heapUsed: mem.heapUsed,
    heapTotal: mem.heapTotal,
    external: mem.external,
    fds,
    timers: timerList ? timerList.length : NaN,
    ...(o.gc ? { timerList, fdList } : {}),
    resources,
    ...gauges,
    gc: !!o.gc,
  }
}
