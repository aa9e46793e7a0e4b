// The soak in short (`pnpm soak` runs it for an hour: bench/README.md "Soak"): about a minute of
// churn on the built server, then idle. What it asserts is the return to baseline, never a timing:
// no file descriptor, timer or other active resource left behind once every client left and every
// room unloaded, and memory back near where it started.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { TANDEM_MAIN } from '../src/paths.mjs'
import { runSoak } from '../src/soak/run.mjs'

/**
 * Memory after the idle phase vs the baseline, in percent. The V8 heap is measured after a full GC
 * and comes back to within a few percent; RSS also holds what the allocator keeps for reuse after
 * the churn's peaks (big documents), so its bound is looser here. `pnpm soak` reports both.
 */
const HEAP_PCT = 10
const RSS_PCT = 25

const out = mkdtempSync(join(tmpdir(), 'tandem-soak-test-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

describe('soak (short)', () => {
  it('after a minute of churn (joins, leaves, typing, presence, a reconnect storm, big documents), idle: descriptors, timers and resources back to baseline, memory near it', async () => {
    expect(existsSync(TANDEM_MAIN), `${TANDEM_MAIN} is missing: run \`pnpm build\` first`).toBe(true)
    const report = await runSoak({
      warmupMs: 15_000,
      churnMs: 45_000,
      idleMs: 3_000,
      sampleEveryMs: 3_000,
      gcEveryMs: 15_000,
      // Short lives and many room names: a minute sees a lot of rooms opened and closed.
      churn: { lifeMs: [1_000, 6_000], roomPool: 5_000, bigEveryMs: 6_000, stormEveryMs: 20_000 },
      outDir: out,
    })
    const { result: r, stats } = report
    console.log(`[soak] ${JSON.stringify(stats)}; RSS ${r.rssPct.toFixed(1)} %, heap ${r.heapPct.toFixed(1)} %, fds ${r.fds.join('→')}, timers ${r.timers.join('→')}`)
    // The workload did happen.
    expect(stats.roomsVisited).toBeGreaterThan(50)
    expect(stats.storms).toBeGreaterThan(0)
    expect(stats.bigOpened).toBeGreaterThan(0)
    expect(report.exited).toBeNull()
    // Nothing left behind.
    expect(r.fds[1], JSON.stringify({ before: report.baseline.fdList, after: report.final.fdList })).toBe(r.fds[0])
    expect(r.timers[1], JSON.stringify({ before: report.baseline.timerList, after: report.final.timerList })).toBe(r.timers[0])
    expect(r.resourceDiff).toEqual({})
    // Memory: back near the baseline (a run this short cannot show a rate; `pnpm soak` reports it).
    expect(r.heapPct).toBeLessThan(HEAP_PCT)
    expect(r.rssPct).toBeLessThan(RSS_PCT)
    expect(existsSync(join(out, 'soak.md')) && existsSync(join(out, 'soak-rss.svg'))).toBe(true)
  }, 180_000)
})
