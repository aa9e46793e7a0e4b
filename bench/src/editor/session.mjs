/* global document, addEventListener */
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
 * @param {(page: import('@playwright/test').Page) => Promise<unknown>} ready resolves once the page is live and synced (its value: `readyValue`)
 * @param {(page: import('@playwright/test').Page) => Promise<void>} [init] before navigating (init scripts)
 * @param {string} [profileLoadTo] a CPU profile of the load (navigation → ready) there
 * @param {string} [addCss] an experiment: CSS added to the page once its DOM is loaded
 */
export async function openSession (browser, url, ready, init, profileLoadTo, addCss = process.env.BENCH_ADD_CSS) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 } })
  const page = await context.newPage()
  if (init) await init(page)
  if (addCss) {
    await page.addInitScript((css) => {
      addEventListener('DOMContentLoaded', () => { const s = document.createElement('style'); s.textContent = css; document.head.append(s) })
    }, addCss)
  }
  const cdp = await context.newCDPSession(page)
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' })
  if (profileLoadTo) {
    await cdp.send('Profiler.enable')
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
    await cdp.send('Profiler.start')
  }
  await page.goto(url)
  const readyValue = await ready(page)
  if (profileLoadTo) {
    const { profile } = await cdp.send('Profiler.stop')
    writeFileSync(profileLoadTo, JSON.stringify(profile))
    await cdp.send('Profiler.disable')
  }

  /** @returns {Promise<Sample>} */
  const sample = async () => {
    const { metrics } = await cdp.send('Performance.getMetrics')
    const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]))
    return { task: m.TaskDuration, script: m.ScriptDuration, layout: m.LayoutDuration, style: m.RecalcStyleDuration, wall: performance.now() }
  }

  return {
    page,
    readyValue,
    /**
     * Runs `work` and returns the main-thread time it cost, in ms. With `profileTo`, a CPU
     * profile of the window is written there (the profiler itself adds some cost: those
     * windows are for reading, not for the figures).
     * @param {() => Promise<void>} work
     * @param {string} [profileTo]
     * @param {string} [traceTo] also a Chrome trace (devtools.timeline: native work by name) there
     */
    async window (work, profileTo, traceTo) {
      /** @type {any[]} */
      const traceEvents = []
      const onData = (/** @type {{ value: any[] }} */ d) => { traceEvents.push(...d.value) }
      if (traceTo) {
        cdp.on('Tracing.dataCollected', onData)
        await cdp.send('Tracing.start', { traceConfig: { includedCategories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink', 'v8.execute', '__metadata'] }, transferMode: 'ReportEvents' })
      }
      if (profileTo) {
        await cdp.send('Profiler.enable')
        await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
        await cdp.send('Profiler.start')
      }
      const a = await sample()
      await work()
      const b = await sample()
      if (traceTo) {
        const done = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve))
        await cdp.send('Tracing.end')
        await done
        cdp.off('Tracing.dataCollected', onData)
        writeFileSync(traceTo, JSON.stringify(traceEvents))
      }
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
