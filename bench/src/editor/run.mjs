#!/usr/bin/env node
// Main-thread cost of the editor page in a real Chromium, Tandem's page against the vanilla
// Tiptap collaboration page (vanilla/), same server, same run. See bench/README.md, "Editor".
//
//   node src/editor/run.mjs [--repeats 5] [--idle-s 10] [--keys 200] [--carets 10] [--profile]
//                           [--build name=dir ...]   extra Tandem page builds, served statically
//
// Each repeat opens every page in turn (rotated order), each in a fresh browser context on a
// fresh room, and reads CDP Performance.getMetrics (TaskDuration, ScriptDuration) around
// (a) 10 s idle with one other client connected, (b) remote keystrokes, (c) 10 remote carets.
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
    profile: { type: 'boolean', default: false },
  },
})
/** @type {import('./scenarios.mjs').Params} */
const params = {
  idleS: Number(o['idle-s']), keys: Number(o.keys), keyHz: Number(o['key-hz']), carets: Number(o.carets),
  caretHz: Number(o['caret-hz']), caretS: Number(o['caret-s']), settleMs: 300,
}
const repeats = Number(o.repeats)
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
const vanillaDir = await buildVanilla()
/** Static servers: the vanilla page, and each --build name=dir. */
const statics = [{ name: 'vanilla', server: await serveVanilla(vanillaDir) }]
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
  ...statics.slice(1).map((s) => ({
    name: s.name,
    url: (/** @type {string} */ room) => `${s.server.url}?server=${encodeURIComponent(server.base)}&room=${room}&name=observer`,
    ready: tandemReady,
  })),
]

const browser = await chromium.launch(executablePath ? { executablePath } : {})
/** @type {Record<string, Record<string, any[]>>} */
const runs = {}
try {
  for (let r = 0; r < repeats; r++) {
    const order = targets.map((_, i) => targets[(i + r) % targets.length])
    for (const t of order) {
      const room = `bench-${t.name}-${r}-${Date.now().toString(36)}`
      const typist = await connectPeer(server.base, room, 'typist')
      typist.type('start ')
      const session = await openSession(browser, t.url(room), t.ready)
      try {
        await new Promise((res) => setTimeout(res, 1500)) // load work settles
        const prof = (/** @type {string} */ s) => (o.profile ? join(OUT, `${t.name}-${s}-${r}.cpuprofile`) : undefined)
        const a = await idle(session, params, prof('idle'))
        const b = await typing(session, typist, params, prof('typing'))
        const shown = await session.page.locator('.ProseMirror p').first().textContent()
        if (shown?.length !== b.expectLength) throw new Error(`${t.name}: page shows ${shown?.length} characters, expected ${b.expectLength}`)
        const c = await carets(session, server.base, room, params, prof('carets'))
        for (const [k, v] of Object.entries({ idle: a, typing: b, carets: c })) ((runs[t.name] ??= {})[k] ??= []).push(v)
        console.error(`repeat ${r + 1}/${repeats} ${t.name.padEnd(8)} idle ${a.perUnit.toFixed(2)} ms/s  typing ${b.perUnit.toFixed(2)} ms/key  carets ${c.perUnit.toFixed(2)} ms/move`)
      } finally {
        await session.close()
        typist.destroy()
      }
    }
  }
} finally {
  await browser.close()
  for (const s of statics) await s.server.close()
  await server.stop()
  rmSync(dataDir, { recursive: true, force: true })
}

const summary = Object.fromEntries(Object.entries(runs).map(([name, byScenario]) => [name, Object.fromEntries(Object.entries(byScenario).map(([k, xs]) => [k, {
  median: median(xs.map((x) => x.perUnit)),
  scriptMedian: median(xs.map((x) => x.scriptPerUnit)),
  min: Math.min(...xs.map((x) => x.perUnit)),
  max: Math.max(...xs.map((x) => x.perUnit)),
  unit: xs[0].unit,
}]))]))
writeFileSync(join(OUT, 'results.json'), JSON.stringify({ date: new Date().toISOString(), params, repeats, runs, summary }, null, 2))
console.log(report(summary, { params, repeats }))
console.error(`raw runs: ${join(OUT, 'results.json').replace(BENCH_DIR + '/', 'bench/')}`)
