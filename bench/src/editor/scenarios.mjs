// The three windows measured on each page, driven by Node peers (clients.mjs) so that the page
// under test does nothing but receive.
import { setTimeout as sleep } from 'node:timers/promises'
import { connectPeer, COLORS } from './clients.mjs'

/**
 * @typedef {{ idleS: number, keys: number, keyHz: number, carets: number, caretHz: number, caretS: number, settleMs: number }} Params
 * @typedef {Awaited<ReturnType<typeof import('./session.mjs').openSession>>} Session
 */

/** Calls `fn(i)` `count` times, `hz` per second, on a fixed schedule (no drift). */
async function paced (count, hz, fn) {
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    const wait = t0 + (i * 1000) / hz - performance.now()
    if (wait > 0) await sleep(wait)
    fn(i)
  }
}

/** (a) nothing typed for idleS seconds, one other client connected (the typist, not typing). */
export async function idle (/** @type {Session} */ s, /** @type {Params} */ p, profileTo) {
  const w = await s.window(() => sleep(p.idleS * 1000), profileTo)
  return { ...w, perUnit: (w.taskMs * 1000) / w.wallMs, scriptPerUnit: (w.scriptMs * 1000) / w.wallMs, unit: 'ms/s' }
}

/** (b) `keys` remote keystrokes at keyHz, one transaction each, from the typist. */
export async function typing (/** @type {Session} */ s, /** @type {import('./clients.mjs').Peer} */ typist, /** @type {Params} */ p, profileTo) {
  const before = typist.text().length
  const w = await s.window(async () => {
    await paced(p.keys, p.keyHz, (i) => typist.type(String.fromCharCode(97 + (i % 26))))
    await sleep(p.settleMs)
  }, profileTo)
  return { ...w, perUnit: w.taskMs / p.keys, scriptPerUnit: w.scriptMs / p.keys, unit: 'ms/keystroke', expectLength: before + p.keys }
}

/** (c) `carets` peers, each moving its caret caretHz times a second for caretS seconds. */
export async function carets (/** @type {Session} */ s, /** @type {string} */ wsBase, /** @type {string} */ room, /** @type {Params} */ p, profileTo) {
  const peers = await Promise.all(Array.from({ length: p.carets }, (_, i) => connectPeer(wsBase, room, `peer ${i + 1}`, COLORS[i % COLORS.length])))
  try {
    for (const peer of peers) peer.moveCaret(0)
    await sleep(1000) // their carets and presence entries appear: not part of the window
    const moves = Math.round(p.caretS * p.caretHz) * peers.length
    const w = await s.window(async () => {
      await paced(moves, p.caretHz * peers.length, (i) => {
        const peer = peers[i % peers.length]
        peer.moveCaret((i * 7) % Math.max(1, peer.text().length))
      })
      await sleep(p.settleMs)
    }, profileTo)
    return { ...w, perUnit: w.taskMs / moves, scriptPerUnit: w.scriptMs / moves, unit: 'ms/caret move' }
  } finally {
    for (const peer of peers) peer.destroy()
  }
}
