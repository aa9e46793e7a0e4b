// One measured page: its own browser context, CDP Performance metrics of its renderer main
// thread, and (optionally) a CPU profile over a window.
import { writeFileSync } from 'node:fs'

/**
 * @typedef {{ task: number, script: number, layout: number, style: number, wall: number }} Sample
 *   cumulative seconds of main-thread work (TaskDuration, ScriptDuration, LayoutDuration,
 *   RecalcStyleDuration) and the wall clock (ms) when read
 */

/**
 * @param {import('@playwright/test').Browser} browser
 * @param {string} url
 * @param {(page: import('@playwright/test').Page) => Promise<void>} ready resolves once the page is live and synced
 */
export async function openSession (browser, url, ready) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 } })
  const page = await context.newPage()
  const cdp = await context.newCDPSession(page)
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' })
  await page.goto(url)
  await ready(page)

  /** @returns {Promise<Sample>} */
  const sample = async () => {
    const { metrics } = await cdp.send('Performance.getMetrics')
    const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]))
    return { task: m.TaskDuration, script: m.ScriptDuration, layout: m.LayoutDuration, style: m.RecalcStyleDuration, wall: performance.now() }
  }

  return {
    page,
    /**
     * Runs `work` and returns the main-thread time it cost, in ms. With `profileTo`, a CPU
     * profile of the window is written there (the profiler itself adds some cost: those
     * windows are for reading, not for the figures).
     * @param {() => Promise<void>} work
     * @param {string} [profileTo]
     */
    async window (work, profileTo) {
      if (profileTo) {
        await cdp.send('Profiler.enable')
        await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
        await cdp.send('Profiler.start')
      }
      const a = await sample()
      await work()
      const b = await sample()
      if (profileTo) {
        const { profile } = await cdp.send('Profiler.stop')
        writeFileSync(profileTo, JSON.stringify(profile))
        await cdp.send('Profiler.disable')
      }
      return {
        wallMs: b.wall - a.wall,
        taskMs: (b.task - a.task) * 1000,
        scriptMs: (b.script - a.script) * 1000,
        layoutMs: (b.layout - a.layout) * 1000,
        styleMs: (b.style - a.style) * 1000,
      }
    },
    async close () {
      await context.close()
    },
  }
}
