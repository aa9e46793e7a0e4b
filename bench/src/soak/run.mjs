// One soak run: the built server (SQLite, its own temp DATA_DIR, the V8 inspector on) under
// churn.mjs's workload, then idle; the server's memory, descriptors and active resources sampled
// throughout and compared with a baseline taken after a warm-up (so lazy initialisation and JIT
// code are not counted as growth). `pnpm soak` (main.mjs) and bench/test/soak.test.ts run it.
import { spawn } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TANDEM_MAIN } from '../paths.mjs'
import { connectInspector, inspectorUrl } from './inspector.mjs'
import { sample, serverGauges } from './measure.mjs'
import { startChurn } from './churn.mjs'
import { asciiChart, svgChart } from './chart.mjs'

const MiB = 1024 * 1024

/** @param {number} ms */
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * @typedef {{ warmupMs: number, churnMs: number, idleMs: number, sampleEveryMs: number, gcEveryMs: number,
 *   churn?: Partial<import('./churn.mjs').ChurnConfig>, outDir?: string, log?: (line: string) => void }} SoakOptions
 */

/** Starts the built server with the inspector on; resolves once both its HTTP port and inspector answer. */
async function startServer (dataDir) {
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', TANDEM_MAIN], {
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000) })
  const inspector = inspectorUrl(child)
  const port = await new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`server not ready in 20 s: ${stderr}`)), 20_000)
    child.stdout.on('data', (d) => {
      out += d
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out)
      if (m) { clearTimeout(timer); resolve(Number(m[1])) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}) before ready: ${stderr}`)) })
  })
  return {
    child,
    pid: /** @type {number} */ (child.pid),
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}`,
    inspector: await connectInspector(await inspector),
    stderr: () => stderr,
  }
}

/** Waits until the server holds no connection and no room (everyone left, every room unloaded). */
async function emptied (http, timeoutMs = 60_000) {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const g = await serverGauges(http)
    if (g.connections === 0 && g.rooms === 0) return
    if (performance.now() > deadline) throw new Error(`the server still holds ${g.connections} connections and ${g.rooms} rooms ${timeoutMs} ms after every client left`)
    await pause(200)
  }
}

/** @param {SoakOptions} o */
export async function runSoak (o) {
  const log = o.log ?? (() => {})
  if (o.outDir) mkdirSync(o.outDir, { recursive: true })
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-soak-'))
  const server = await startServer(dataDir)
  const t0 = performance.now()
  /** @type {import('./measure.mjs').Sample[]} */
  const samples = []
  /** @type {Array<{ name: string, t: number }>} */
  const phases = []
  const phase = (name) => { phases.push({ name, t: (performance.now() - t0) / 1000 }); log(`soak: ${name}`) }
  const take = async (gc = false) => { const s = await sample(server, { t0, gc }); samples.push(s); return s }
  /**
   * Idle figures once they hold still: a socket the last client closed may still be on its way
   * out when the gauges already read 0. Post-GC samples a second apart until two agree on
   * descriptors, timers and active resources (at most 15).
   */
  const steady = async () => {
    let prev = await take(true)
    for (let i = 0; i < 15; i++) {
      await pause(1_000)
      const s = await take(true)
      if (s.fds === prev.fds && s.timers === prev.timers && JSON.stringify(s.resources) === JSON.stringify(prev.resources)) return s
      prev = s
    }
    return prev
  }

  try {
    // Warm-up: every code path once (JIT, lazy modules, the SQLite statement cache), then empty.
    phase('warm-up')
    const warm = startChurn(server.ws, { ...o.churn, seed: 7 })
    await pause(o.warmupMs)
    warm.storm()
    await pause(Math.min(3_000, o.warmupMs / 2))
    warm.stop()
    await emptied(server.http)
    const baseline = await steady()

    phase('churn')
    const churn = startChurn(server.ws, { ...o.churn, seed: 42 })
    const churnEnd = performance.now() + o.churnMs
    let nextGc = performance.now() + o.gcEveryMs
    while (performance.now() < churnEnd) {
      await pause(Math.min(o.sampleEveryMs, Math.max(0, churnEnd - performance.now())))
      const gc = performance.now() >= nextGc
      if (gc) nextGc += o.gcEveryMs
      const s = await take(gc)
      log(`soak: t=${s.t.toFixed(0)} s rss ${(s.rss / MiB).toFixed(1)} MiB heap ${(s.heapUsed / MiB).toFixed(1)} MiB rooms ${s.rooms} conns ${s.connections} fds ${s.fds}`)
    }
    const stats = { ...churn.stats, roomsVisited: churn.stats.roomsVisited.size }
    churn.stop()

    phase('idle')
    await emptied(server.http)
    const idleEnd = performance.now() + o.idleMs
    while (performance.now() < idleEnd) {
      await pause(Math.min(o.sampleEveryMs, Math.max(0, idleEnd - performance.now())))
      await take()
    }
    const final = await steady()

    const result = compare(baseline, final, samples.filter((s) => s.gc && s.t >= phases[1].t && s.t <= phases[2].t))
    const report = { options: { ...o, log: undefined, outDir: undefined }, stats, baseline, final, result, phases, samples, exited: server.child.exitCode }
    if (o.outDir) write(o.outDir, report)
    return report
  } finally {
    server.inspector.close()
    if (server.child.exitCode === null) {
      server.child.kill('SIGTERM')
      await new Promise((resolve) => server.child.once('exit', resolve))
    }
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/**
 * What the run shows: the end (idle, after a full GC) against the baseline, and the heap's
 * growth rate during the churn (least squares over the post-GC samples, MiB per hour).
 * @param {import('./measure.mjs').Sample} baseline @param {import('./measure.mjs').Sample} final @param {import('./measure.mjs').Sample[]} gcd
 */
function compare (baseline, final, gcd) {
  const pct = (/** @type {number} */ a, /** @type {number} */ b) => ((a - b) / b) * 100
  let slope = NaN
  if (gcd.length >= 3) {
    const n = gcd.length
    const mx = gcd.reduce((a, s) => a + s.t, 0) / n
    const my = gcd.reduce((a, s) => a + s.heapUsed, 0) / n
    const num = gcd.reduce((a, s) => a + (s.t - mx) * (s.heapUsed - my), 0)
    const den = gcd.reduce((a, s) => a + (s.t - mx) ** 2, 0)
    slope = den > 0 ? ((num / den) * 3600) / MiB : NaN
  }
  const types = new Set([...Object.keys(baseline.resources), ...Object.keys(final.resources)])
  /** @type {Record<string, [number, number]>} */
  const resourceDiff = {}
  for (const t of types) if ((baseline.resources[t] ?? 0) !== (final.resources[t] ?? 0)) resourceDiff[t] = [baseline.resources[t] ?? 0, final.resources[t] ?? 0]
  return {
    rssPct: pct(final.rss, baseline.rss),
    heapPct: pct(final.heapUsed, baseline.heapUsed),
    heapGrowthMiBPerHour: slope,
    fds: [baseline.fds, final.fds],
    timers: [baseline.timers, final.timers],
    resourceDiff,
  }
}

/** bench/results/soak/: soak.md (summary, ASCII chart), soak-rss.svg, soak.json. */
function write (dir, report) {
  const { baseline: b, final: f, result: r, stats } = report
  const mib = (/** @type {number} */ v) => `${(v / MiB).toFixed(1)} MiB`
  const churnS = report.options.churnMs / 1000
  writeFileSync(join(dir, 'soak-rss.svg'), svgChart(report.samples, { phases: report.phases }))
  writeFileSync(join(dir, 'soak.json'), JSON.stringify(report, null, 1))
  writeFileSync(join(dir, 'soak.md'), `# Soak: ${churnS >= 120 ? `${(churnS / 60).toFixed(0)} min` : `${churnS} s`} of churn on one server, then idle

Written by \`pnpm soak\` (bench/src/soak/) on ${new Date().toISOString().slice(0, 10)}. One built server (SQLite), stock
y-websocket clients: ${stats.joined} joins and leaves, ${stats.roomsVisited} distinct rooms opened and closed, ${stats.edits} edits,
${stats.presence} presence updates, ${stats.bigOpened} visits to big documents (~1 MiB), ${stats.storms} reconnect storms.
Baseline and end are taken idle (no connection, no room loaded) after a full GC.

| | baseline (after warm-up) | end (idle) | change |
| --- | --- | --- | --- |
| RSS | ${mib(b.rss)} | ${mib(f.rss)} | ${r.rssPct.toFixed(1)} % |
| V8 heap used | ${mib(b.heapUsed)} | ${mib(f.heapUsed)} | ${r.heapPct.toFixed(1)} % |
| file descriptors | ${b.fds} | ${f.fds} | ${f.fds - b.fds} |
| timers armed (unref'd included) | ${b.timers} | ${f.timers} | ${f.timers - b.timers} |
| active resources (timers, sockets…) | ${JSON.stringify(b.resources)} | ${JSON.stringify(f.resources)} | ${Object.keys(r.resourceDiff).length === 0 ? 'same' : JSON.stringify(r.resourceDiff)} |
| heap growth during the churn (post-GC samples, least squares) | | | ${Number.isNaN(r.heapGrowthMiBPerHour) ? 'n/a (too few samples)' : `${r.heapGrowthMiBPerHour.toFixed(2)} MiB/hour`} |

![RSS and heap over time](soak-rss.svg)

RSS over time (warm-up, churn, idle):

\`\`\`
${asciiChart(report.samples)}
\`\`\`
`)
}
