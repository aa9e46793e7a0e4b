#!/usr/bin/env node
// Main-thread cost of the editor page in a real Chromium, Tandem's page against the vanilla
// Tiptap collaboration page (vanilla/), same server, same run. See bench/README.md, "Editor".
//
//   node src/editor/run.mjs [--repeats 5] [--idle-s 10] [--keys 200] [--carets 10] [--profile]
//                           [--build name=dir ...]   extra Tandem page builds, served statically
//                           [--only idle,typing,carets,open,bigkey,typists]   a subset of the scenarios
//                           [--trace]   Chrome traces of the keystroke windows (src/editor/trace-summary.mjs)
//
// Each repeat opens every page in turn (rotated order), each in a fresh browser context on a
// fresh room, and reads CDP Performance.getMetrics (TaskDuration, ScriptDuration) around
// (a) 10 s idle with one other client connected, (b) remote keystrokes, (c) 10 remote carets.
// Then, each on a fresh page and room: (d) open a 1 MB document (3,000 paragraphs): navigation →
// the first paint with all its blocks in the DOM; (e) the observer's own keystrokes in the middle of that document:
// keydown → DOM and keydown → next paint; (f) the observer's keystrokes while 10 Node peers type.
import { chromium } from '@playwright/test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { startServer } from '../server-process.mjs'
import { median } from '../stats.mjs'
import { TANDEM_MAIN, TMP_DIR, BENCH_DIR } from '../paths.mjs'
import { buildVanilla, serveVanilla } from './vanilla-page.mjs'
import { connectPeer } from './clients.mjs'
import { openSession } from './session.mjs'
import { idle, typing, carets } from './scenarios.mjs'
import { keysWhileOthersType, localKeys, shownAt, watchForBlocks } from './local-scenarios.mjs'
import { report } from './report.mjs'

const { values: o } = parseArgs({
  options: {
    repeats: { type: 'string', default: '5' },
    'idle-s': { type: 'string', default: '10' },
    keys: { type: 'string', default: '200' },
    'key-hz': { type: 'string', default: '20' },
    carets: { type: 'string', default: '10' },
    'caret-hz': { type: 'string', default: '5' },
    'caret-s': { type: 'string', default: '6' },
    build: { type: 'string', multiple: true, default: [] },
    'no-server-page': { type: 'boolean', default: false },
    // also the vanilla page with this repository's y-tiptap patch (the patch's effect alone)
    'vanilla-patched': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
    // an experiment: CSS added to every page as soon as it loads (e.g. to try a style on both)
    'add-css': { type: 'string' },
    only: { type: 'string', default: 'idle,typing,carets,open,bigkey,typists' },
    paragraphs: { type: 'string', default: '3000' },
    'paragraph-chars': { type: 'string', default: '333' },
    'big-keys': { type: 'string', default: '20' },
    'big-key-hz': { type: 'string', default: '4' },
    typists: { type: 'string', default: '10' },
    'typist-hz': { type: 'string', default: '5' },
    'local-keys': { type: 'string', default: '60' },
    'local-key-hz': { type: 'string', default: '8' },
  },
})
const only = new Set(o.only.split(','))
const big = { paragraphs: Number(o.paragraphs), chars: Number(o['paragraph-chars']), keys: Number(o['big-keys']), hz: Number(o['big-key-hz']) }
const others = { typists: Number(o.typists), typistHz: Number(o['typist-hz']), keys: Number(o['local-keys']), hz: Number(o['local-key-hz']) }
/** @type {import('./scenarios.mjs').Params} */
const params = {
  idleS: Number(o['idle-s']), keys: Number(o.keys), keyHz: Number(o['key-hz']), carets: Number(o.carets),
  caretHz: Number(o['caret-hz']), caretS: Number(o['caret-s']), settleMs: 300,
}
const repeats = Number(o.repeats)
if (o['add-css']) process.env.BENCH_ADD_CSS = o['add-css']
const OUT = join(TMP_DIR, 'editor')
mkdirSync(OUT, { recursive: true })

if (!existsSync(TANDEM_MAIN)) throw new Error('apps/server/dist/main.js missing: run `pnpm build` first')
const executablePath = process.env.CHROMIUM_PATH || (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined)

const dataDir = mkdtempSync(join(tmpdir(), 'tandem-bench-editor-'))
const server = await startServer(
  { id: 'tandem', command: () => ({ script: TANDEM_MAIN, env: { DATA_DIR: dataDir, LOG_LEVEL: 'warn' } }) },
  { dataDir },
)
const httpBase = server.base.replace(/^ws/, 'http')
// Profiles need function names: the vanilla page is then built unminified (build the Tandem page
// so too: `vite build --minify false --outDir …`, passed with --build).
const vanillaDir = await buildVanilla(!o.profile)
/** Static servers: the vanilla page, and each --build name=dir. */
const statics = [{ name: 'vanilla', server: await serveVanilla(vanillaDir) }]
if (o['vanilla-patched']) statics.push({ name: 'vanilla-patched', server: await serveVanilla(await buildVanilla(!o.profile, 'patched', `${vanillaDir}-patched`)) })
for (const spec of o.build) {
  const [name, dir] = spec.split('=')
  statics.push({ name, server: await serveVanilla(resolve(process.cwd(), dir)) })
}

/** @type {Array<{ name: string, url: (room: string) => string, ready: (page: import('@playwright/test').Page) => Promise<void> }>} */
const tandemReady = async (/** @type {import('@playwright/test').Page} */ page) => {
  await page.locator('.tandem-badge[data-status="live"]').first().waitFor({ timeout: 20_000 })
}
const targets = [
  {
    name: 'vanilla',
    url: (room) => `${statics[0].server.url}?server=${encodeURIComponent(server.base)}&room=${room}&name=observer`,
    ready: (page) => page.waitForFunction(() => /** @type {any} */ (globalThis).benchProvider?.synced === true, undefined, { timeout: 20_000 }).then(() => {}),
  },
  ...(o['no-server-page'] ? [] : [{ name: 'tandem', url: (room) => `${httpBase}/?room=${room}&name=observer`, ready: tandemReady }]),
  ...statics.filter((s) => s.name === 'vanilla-patched').map((s) => ({
    name: s.name,
    url: (/** @type {string} */ room) => `${s.server.url}?server=${encodeURIComponent(server.base)}&room=${room}&name=observer`,
    ready: (/** @type {import('@playwright/test').Page} */ page) => page.waitForFunction(() => /** @type {any} */ (globalThis).benchProvider?.synced === true, undefined, { timeout: 20_000 }).then(() => {}),
  })),
  ...statics.slice(1).filter((s) => s.name !== 'vanilla-patched').map((s) => ({
    name: s.name,
    url: (/** @type {string} */ room) => `${s.server.url}?server=${encodeURIComponent(server.base)}&room=${room}&name=observer`,
    ready: tandemReady,
  })),
]

/** Polls `ok` every 50 ms until it holds, or throws after `ms`. */
async function waitFor (/** @type {() => boolean} */ ok, /** @type {number} */ ms, /** @type {string} */ what) {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((res) => setTimeout(res, 50))
  }
}

const browser = await chromium.launch(executablePath ? { executablePath } : {})
/** @type {Record<string, Record<string, any[]>>} */
const runs = {}
try {
  for (let r = 0; r < repeats; r++) {
    const order = targets.map((_, i) => targets[(i + r) % targets.length])
    for (const t of order) {
      const prof = (/** @type {string} */ s) => (o.profile ? join(OUT, `${t.name}-${s}-${r}.cpuprofile`) : undefined)
      const trace = (/** @type {string} */ s) => (o.trace ? join(OUT, `${t.name}-${s}-${r}.trace.json`) : undefined)
      const record = (/** @type {string} */ k, /** @type {any} */ v) => (((runs[t.name] ??= {})[k] ??= []).push(v))
      if (only.has('idle') || only.has('typing') || only.has('carets')) {
        const room = `bench-${t.name}-${r}-${Date.now().toString(36)}`
        const typist = await connectPeer(server.base, room, 'typist')
        typist.type('start ')
        const session = await openSession(browser, t.url(room), t.ready)
        try {
          await new Promise((res) => setTimeout(res, 1500)) // load work settles
          const line = []
          if (only.has('idle')) {
            const a = await idle(session, params, prof('idle'))
            record('idle', a)
            line.push(`idle ${a.perUnit.toFixed(2)} ms/s`)
          }
          if (only.has('typing')) {
            const b = await typing(session, typist, params, prof('typing'))
            const shown = await session.page.locator('.ProseMirror p').first().textContent()
            if (shown?.length !== b.expectLength) throw new Error(`${t.name}: page shows ${shown?.length} characters, expected ${b.expectLength}`)
            record('typing', b)
            line.push(`typing ${b.perUnit.toFixed(2)} ms/key`)
          }
          if (only.has('carets')) {
            const c = await carets(session, server.base, room, params, prof('carets'))
            record('carets', c)
            line.push(`carets ${c.perUnit.toFixed(2)} ms/move`)
          }
          console.error(`repeat ${r + 1}/${repeats} ${t.name.padEnd(8)} ${line.join('  ')}`)
        } finally {
          await session.close()
          typist.destroy()
        }
      }
      if (only.has('open') || only.has('bigkey')) {
        const room = `bench-big-${t.name}-${r}-${Date.now().toString(36)}`
        const seeder = await connectPeer(server.base, room, 'seeder')
        seeder.seed(big.paragraphs, big.chars)
        // A second client that sees the whole document proves the server holds it.
        const checker = await connectPeer(server.base, room, 'checker')
        await waitFor(() => checker.doc.getXmlFragment('default').length >= big.paragraphs, 60_000, 'seeded document on the server')
        checker.destroy()
        const session = await openSession(browser, t.url(room), shownAt, watchForBlocks(big.paragraphs), prof('open'))
        try {
          const shownMs = /** @type {number} */ (session.readyValue)
          record('open', { perUnit: shownMs, unit: 'ms' })
          await t.ready(session.page)
          await new Promise((res) => setTimeout(res, 1500)) // load work settles
          let line = `open ${shownMs.toFixed(0)} ms`
          if (only.has('bigkey')) {
            const k = await localKeys(session, { block: Math.floor(big.paragraphs / 2), keys: big.keys, hz: big.hz }, prof('bigkey'), trace('bigkey'))
            record('bigkey', k)
            line += `  keystroke in it: keydown→DOM p50 ${k.domP50.toFixed(1)} ms, →paint p50 ${k.paintP50.toFixed(1)} p95 ${k.paintP95.toFixed(1)} ms, ${k.perUnit.toFixed(2)} ms main thread/key`
          }
          console.error(`repeat ${r + 1}/${repeats} ${t.name.padEnd(8)} ${line}`)
        } finally {
          await session.close()
          seeder.destroy()
        }
      }
      if (only.has('typists')) {
        const room = `bench-typists-${t.name}-${r}-${Date.now().toString(36)}`
        const seeder = await connectPeer(server.base, room, 'seeder')
        seeder.seed(others.typists + 1, 40)
        const session = await openSession(browser, t.url(room), async (page) => {
          await t.ready(page)
          await shownAt(page)
        }, watchForBlocks(others.typists + 1))
        try {
          await new Promise((res) => setTimeout(res, 1500))
          const k = await keysWhileOthersType(session, server.base, room, others, prof('typists'), trace('typists'))
          record('typists', k)
          console.error(`repeat ${r + 1}/${repeats} ${t.name.padEnd(8)} keys with ${others.typists} typists: keydown→paint p50 ${k.paintP50.toFixed(1)} p95 ${k.paintP95.toFixed(1)} ms, keydown→DOM p95 ${k.domP95.toFixed(1)} ms`)
        } finally {
          await session.close()
          seeder.destroy()
        }
      }
    }
  }
} finally {
  await browser.close()
  for (const s of statics) await s.server.close()
  await server.stop()
  rmSync(dataDir, { recursive: true, force: true })
}

const LATENCIES = ['domP50', 'domP95', 'paintP50', 'paintP95', 'slowKeydowns']
const summary = Object.fromEntries(Object.entries(runs).map(([name, byScenario]) => [name, Object.fromEntries(Object.entries(byScenario).map(([k, xs]) => [k, {
  median: median(xs.map((x) => x.perUnit)),
  scriptMedian: median(xs.map((x) => x.scriptPerUnit)),
  min: Math.min(...xs.map((x) => x.perUnit)),
  max: Math.max(...xs.map((x) => x.perUnit)),
  unit: xs[0].unit,
  // medians over the repeats of each repeat's latency quantiles (keystroke scenarios)
  ...Object.fromEntries(LATENCIES.filter((l) => l in xs[0]).map((l) => [l, median(xs.map((x) => x[l]))])),
}]))]))
writeFileSync(join(OUT, 'results.json'), JSON.stringify({ date: new Date().toISOString(), params, repeats, runs, summary }, null, 2))
console.log(report(summary, { params, repeats, big, others }))
console.error(`raw runs: ${join(OUT, 'results.json').replace(BENCH_DIR + '/', 'bench/')}`)
