// Convergence check before timing: a real client (y-websocket's WebsocketProvider, or
// HocuspocusProvider for Hocuspocus) and the light client edit the same room and must end up
// with each other's edits; a second real client joining later must get the same document.
import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { HocuspocusProvider } from '@hocuspocus/provider'
import { LightClient } from './loadgen/light-client.mjs'
import { appendCharUpdate, syncFrame } from './wire/frames.mjs'
import { SyncType, TEXT_NAME } from './wire/protocol.mjs'
import { MuxLightClient } from './loadgen/mux-client.mjs'
import { readStructIds } from './wire/parse.mjs'

const LIGHT_ID = 777_777
const LIGHT_EDITS = 5

/**
 * @param {() => boolean} cond @param {number} ms @param {string} what
 */
async function until (cond, ms, what) {
  const t0 = performance.now()
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timeout waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * A real client of the target's protocol; resolves once usable (synced, or open for the relay).
 * @param {import('./targets.mjs').Target} target @param {string} base @param {string} room @param {Y.Doc} doc
 */
async function realClient (target, base, room, doc) {
  if (target.proto === 'hp') {
    const p = new HocuspocusProvider({ url: base, name: room, document: doc, WebSocketPolyfill: /** @type {any} */ (WebSocket) })
    await until(() => p.isSynced, 10_000, 'HocuspocusProvider synced')
    return { destroy: () => p.destroy() }
  }
  const p = new WebsocketProvider(base, room, doc, { WebSocketPolyfill: /** @type {any} */ (WebSocket), disableBc: true })
  // A stateless relay never answers sync step 1, so "connected" is all it can reach.
  await until(() => target.proto === 'relay' ? p.wsconnected : p.synced, 10_000, 'WebsocketProvider synced')
  return { destroy: () => p.destroy() }
}

/**
 * A cluster (several `bases`) is verified across its servers: the real client on the first, the
 * light client and the late real client on the last.
 * @param {import('./targets.mjs').Target} target @param {string[]} bases
 * @returns {Promise<{ ok: boolean, ms: number, error?: string }>}
 */
export async function verifyTarget (target, bases) {
  const base = bases[0]
  const other = bases[bases.length - 1]
  const t0 = performance.now()
  const room = `verify-${target.id}-${Date.now()}`
  /** @type {Array<{ destroy(): void }>} providers and docs (a doc's destroy also stops its awareness timer) */
  const owned = []
  /** @type {LightClient | null} */
  let light = null
  try {
    const docA = new Y.Doc()
    owned.push(docA)
    owned.push(await realClient(target, base, room, docA))
    /** @type {Map<number, number>} highest clock + 1 the light client saw per Yjs client */
    const seen = new Map()
    // A multiplexing target is a Tandem server: its light clients speak y-websocket, and a mux
    // client must sync the same room over `tandem-mux-v1` (below).
    light = new LightClient(other, room, target.proto === 'mux' ? 'yws' : target.proto, {
      onSync (_lc, syncType, d) {
        readStructIds(d, { onRange (client, clock, len) { seen.set(client, Math.max(seen.get(client) ?? 0, clock + len)) } })
      },
    })
    await light.connect(10_000)
    docA.getText(TEXT_NAME).insert(0, 'hello')
    await until(() => (seen.get(docA.clientID) ?? 0) >= 5, 5000, 'light client to receive the real client\'s edit')
    for (let i = 0; i < LIGHT_EDITS; i++) light.send(syncFrame(light.prefix, SyncType.Update, appendCharUpdate(LIGHT_ID, i, 'xyzuv'[i])))
    await until(() => Y.encodeStateVector(docA).length > 0 && (Y.decodeStateVector(Y.encodeStateVector(docA)).get(LIGHT_ID) ?? 0) >= LIGHT_EDITS, 5000, 'real client to receive the light client\'s edits')
    const text = docA.getText(TEXT_NAME).toString()
    if (!text.includes('hello') || !text.includes('xyzuv')) throw new Error(`unexpected text ${JSON.stringify(text)}`)
    if (target.proto !== 'relay') {
      const docB = new Y.Doc()
      owned.push(docB)
      owned.push(await realClient(target, other, room, docB))
      await until(() => docB.getText(TEXT_NAME).toString() === text, 5000, 'late real client to converge')
    }
    if (target.proto === 'mux') {
      const mux = new MuxLightClient(other, [room, `${room}-second`])
      try { await mux.connect(10_000) } finally { await mux.close() }
    }
    return { ok: true, ms: performance.now() - t0 }
  } catch (err) {
    return { ok: false, ms: performance.now() - t0, error: String(/** @type {Error} */ (err).message) }
  } finally {
    for (const o of owned.reverse()) o.destroy()
    await light?.close()
  }
}
