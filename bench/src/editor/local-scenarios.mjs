/* global document, getSelection, requestAnimationFrame, MutationObserver, NodeFilter */
// Scenarios measured in the page itself (not only CPU): opening a large document, and the latency
// of the observer's own keystrokes (keydown → DOM, keydown → next paint), alone in a 1 MB
// document or while Node peers type. Driven through Playwright's keyboard (CDP Input events).
import { setTimeout as sleep } from 'node:timers/promises'
import { connectPeer, COLORS } from './clients.mjs'
import { quantile } from '../stats.mjs'

/**
 * @typedef {{ dom: number | null, paint: number | null }} KeyRecord ms from the keydown's timestamp
 * @typedef {import('./scenarios.mjs').Session} Session
 */

/**
 * Installed in the page once: for each keydown, the time until
 * - dom: the editor's DOM shows the change in the paragraph holding the caret (a
 *   MutationObserver created after ProseMirror's, so it runs after ProseMirror has read the
 *   change, dispatched the transaction and y-tiptap has written it to Yjs), and
 * - paint: the next frame is painted (a requestAnimationFrame callback queued by the keydown,
 *   then a message posted from it: delivered after that frame's paint).
 * Event Timing ('event' entries, ≥ 16 ms only, 8 ms resolution) is kept as a cross-check.
 */
function installProbe () {
  const g = /** @type {any} */ (globalThis)
  if (g.__benchProbe) return
  const probe = { keys: /** @type {any[]} */ ([]), slowEvents: /** @type {any[]} */ ([]) }
  g.__benchProbe = probe
  const editor = /** @type {HTMLElement} */ (document.querySelector('.ProseMirror'))
  /** @type {{ t0: number, dom: number | null, paint: number | null, block: Element | null } | null} */
  let pending = null
  document.addEventListener('keydown', (ev) => {
    const anchor = getSelection()?.anchorNode
    const block = anchor ? (anchor.nodeType === 1 ? /** @type {Element} */ (anchor) : anchor.parentElement)?.closest('p, h1, h2, h3, li') ?? null : null
    const rec = { t0: ev.timeStamp, dom: null, paint: null, block }
    pending = rec
    probe.keys.push(rec)
    requestAnimationFrame(() => {
      const ch = new MessageChannel()
      ch.port1.onmessage = () => { rec.paint = performance.now() - rec.t0 }
      ch.port2.postMessage(0)
    })
  }, true)
  new MutationObserver((records) => {
    const rec = pending
    if (!rec || rec.dom !== null) return
    if (records.some((r) => rec.block === null || rec.block.contains(r.target) || r.target === rec.block)) {
      rec.dom = performance.now() - rec.t0
      pending = null
    }
  }).observe(editor, { childList: true, subtree: true, characterData: true })
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) probe.slowEvents.push({ name: e.name, duration: e.duration })
    }).observe(/** @type {any} */ ({ type: 'event', durationThreshold: 16 }))
  } catch { /* no Event Timing: the rAF figure stands alone */ }
}

/** Puts the caret at the end of the `index`-th top-level block (negative: from the end), focused. */
function placeCaret (/** @type {number} */ index) {
  const editor = /** @type {HTMLElement} */ (document.querySelector('.ProseMirror'))
  editor.focus()
  const blocks = editor.children
  const block = blocks[index < 0 ? blocks.length + index : index]
  const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT)
  /** @type {Node | null} */ let last = null
  while (walker.nextNode()) last = walker.currentNode
  const sel = /** @type {Selection} */ (getSelection())
  if (last) sel.collapse(last, /** @type {Text} */ (last).length)
  else sel.collapse(block, 0)
}

/**
 * Installed before the page's own scripts (addInitScript): checks each frame whether the editor
 * holds `blocks` top-level blocks; the first time it does, the time after that frame's paint
 * (a message posted from the requestAnimationFrame callback) is kept in `__benchShownAt`.
 */
function watchBlocks (/** @type {number} */ blocks) {
  const g = /** @type {any} */ (globalThis)
  const check = () => {
    const ed = document.querySelector('.ProseMirror')
    if (ed && ed.childElementCount >= blocks) {
      const ch = new MessageChannel()
      ch.port1.onmessage = () => { g.__benchShownAt = performance.now() }
      ch.port2.postMessage(0)
    } else requestAnimationFrame(check)
  }
  requestAnimationFrame(check)
}

/**
 * For openSession's `init`: arms the watch for `blocks` blocks. Then `shownAt(page)` waits for
 * the page to show them and returns when it did: ms since navigation start, paint included.
 */
export const watchForBlocks = (/** @type {number} */ blocks) => (/** @type {import('@playwright/test').Page} */ page) => page.addInitScript(watchBlocks, blocks)

export async function shownAt (/** @type {import('@playwright/test').Page} */ page) {
  const handle = await page.waitForFunction(() => /** @type {any} */ (globalThis).__benchShownAt, undefined, { timeout: 120_000 })
  return /** @type {number} */ (await handle.jsonValue())
}

/**
 * The observer types `keys` characters at `hz` at the end of block `block`, each keystroke a
 * Playwright key press. Returns the per-key records and the main-thread cost of the window.
 * @param {Session} s
 * @param {{ block: number, keys: number, hz: number, during?: () => Promise<void> }} o
 * @param {string} [profileTo]
 * @param {string} [traceTo]
 */
export async function localKeys (s, o, profileTo, traceTo) {
  await s.page.evaluate(installProbe)
  await s.page.evaluate(placeCaret, o.block)
  await sleep(300) // ProseMirror reads the new selection (selectionchange), the caret is shared
  const first = await s.page.evaluate(() => /** @type {any} */ (globalThis).__benchProbe.keys.length)
  const w = await s.window(async () => {
    const t0 = performance.now()
    for (let i = 0; i < o.keys; i++) {
      const wait = t0 + (i * 1000) / o.hz - performance.now()
      if (wait > 0) await sleep(wait)
      await s.page.keyboard.press(String.fromCharCode(97 + (i % 26)))
    }
    await sleep(300)
  }, profileTo, traceTo)
  /** @type {{ keys: KeyRecord[], slowEvents: Array<{ name: string, duration: number }> }} */
  const got = await s.page.evaluate((from) => {
    const p = /** @type {any} */ (globalThis).__benchProbe
    const keys = p.keys.slice(from).map((/** @type {any} */ k) => ({ dom: k.dom, paint: k.paint }))
    const slowEvents = p.slowEvents.splice(0)
    return { keys, slowEvents }
  }, first)
  const dom = got.keys.map((k) => k.dom).filter((x) => x !== null)
  const paint = got.keys.map((k) => k.paint).filter((x) => x !== null)
  if (dom.length < o.keys * 0.9) throw new Error(`only ${dom.length} of ${o.keys} keystrokes reached the DOM`)
  return {
    ...w,
    keys: o.keys,
    perUnit: w.taskMs / o.keys,
    scriptPerUnit: w.scriptMs / o.keys,
    unit: 'ms/keystroke',
    domP50: quantile(dom, 0.5),
    domP95: quantile(dom, 0.95),
    paintP50: quantile(paint, 0.5),
    paintP95: quantile(paint, 0.95),
    slowKeydowns: got.slowEvents.filter((e) => e.name === 'keydown').length,
  }
}

/**
 * Local keystrokes while `typists` Node peers type, each into its own paragraph (1..typists; the
 * room must hold that many), `typistHz` characters a second each.
 * @param {Session} s
 * @param {string} wsBase
 * @param {string} room
 * @param {{ typists: number, typistHz: number, keys: number, hz: number }} o
 * @param {string} [profileTo]
 * @param {string} [traceTo]
 */
export async function keysWhileOthersType (s, wsBase, room, o, profileTo, traceTo) {
  const peers = await Promise.all(Array.from({ length: o.typists }, (_, i) => connectPeer(wsBase, room, `typist ${i + 1}`, COLORS[i % COLORS.length])))
  let stop = false
  const typing = Promise.all(peers.map(async (peer, i) => {
    const t0 = performance.now() + (i * 1000) / o.typistHz / peers.length // spread evenly
    for (let k = 0; !stop; k++) {
      const wait = t0 + (k * 1000) / o.typistHz - performance.now()
      if (wait > 0) await sleep(wait)
      if (!stop) peer.typeAt(i + 1, String.fromCharCode(97 + (k % 26)))
    }
  }))
  try {
    await sleep(1000) // the typing is under way
    return await localKeys(s, { block: 0, keys: o.keys, hz: o.hz }, profileTo, traceTo)
  } finally {
    stop = true
    await typing
    for (const peer of peers) peer.destroy()
  }
}
