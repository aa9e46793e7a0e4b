// The soak's workload: realistic churn against one server, with stock y-websocket clients.
// Rooms are opened and closed (a pool of names, most visits to rooms already open, some to rooms
// not seen for a while, which load from the store), clients join and leave (each lives a random
// while), type (inserts and deletes at random places) and move their cursor (presence), a few
// big documents (about a megabyte each) are opened, edited and left, and every so often a
// reconnect storm drops every socket at once (they come back by themselves).
import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'

/** @param {number} seed */
function mulberry32 (seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * @typedef {{ clients: number, roomPool: number, typeEveryMs: number, presenceEveryMs: number,
 *   lifeMs: [number, number], bigDocs: number, bigDocBytes: number, bigEveryMs: number, stormEveryMs: number }} ChurnConfig
 */

/** @type {ChurnConfig} */
const DEFAULT_CHURN = {
  clients: 40, // connected at any time, on average
  roomPool: 400, // distinct room names
  typeEveryMs: 700, // per client, on average
  presenceEveryMs: 1_000,
  lifeMs: [5_000, 60_000],
  bigDocs: 3,
  bigDocBytes: 1024 * 1024,
  bigEveryMs: 20_000,
  stormEveryMs: 120_000,
}

/**
 * Starts the churn against `wsBase`; `stop()` makes every client leave and resolves when they have.
 * @param {string} wsBase @param {Partial<ChurnConfig> & { seed?: number }} [opts]
 */
export function startChurn (wsBase, opts = {}) {
  const cfg = { ...DEFAULT_CHURN, ...opts }
  // y-websocket adds a process 'exit' listener per provider (removed on destroy).
  process.setMaxListeners(Math.max(process.getMaxListeners(), cfg.clients * 3 + 20))
  const rand = mulberry32(opts.seed ?? 1)
  const pick = (/** @type {number} */ n) => Math.floor(rand() * n)
  /** @type {Set<{ provider: WebsocketProvider, doc: Y.Doc, timers: NodeJS.Timeout[], room: string }>} */
  const clients = new Set()
  const stats = { joined: 0, left: 0, edits: 0, presence: 0, storms: 0, bigOpened: 0, roomsVisited: new Set() }
  let stopped = false

  const open = (/** @type {string} */ room, /** @type {number} */ lifeMs, /** @type {((doc: Y.Doc) => void) | undefined} */ onSynced) => {
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(wsBase, room, doc, { WebSocketPolyfill: /** @type {any} */ (WebSocket), disableBc: true, maxBackoffTime: 1_000 })
    const client = { provider, doc, timers: /** @type {NodeJS.Timeout[]} */ ([]), room }
    clients.add(client)
    stats.joined++
    stats.roomsVisited.add(room)
    const text = doc.getText('t')
    client.timers.push(setInterval(() => {
      if (!provider.synced) return
      if (text.length > 200 && rand() < 0.3) text.delete(pick(text.length - 10), 1 + pick(8))
      else text.insert(pick(text.length + 1), `w${pick(1e6)} `)
      stats.edits++
    }, cfg.typeEveryMs * (0.5 + rand())))
    client.timers.push(setInterval(() => {
      const at = pick(text.length + 1)
      provider.awareness.setLocalStateField('cursor', { anchor: at, head: at + pick(5) })
      stats.presence++
    }, cfg.presenceEveryMs * (0.5 + rand())))
    client.timers.push(setTimeout(() => leave(client), lifeMs))
    if (onSynced) provider.once('sync', () => onSynced(doc))
    provider.awareness.setLocalStateField('user', { name: `u${stats.joined}` })
  }

  const leave = (/** @type {typeof clients extends Set<infer C> ? C : never} */ client) => {
    if (!clients.delete(client)) return
    for (const t of client.timers) clearTimeout(t)
    client.provider.destroy()
    client.doc.destroy()
    stats.left++
  }

  const lifetime = () => cfg.lifeMs[0] + rand() * (cfg.lifeMs[1] - cfg.lifeMs[0])

  // Keep about cfg.clients connected: most join a room someone is in, some a room nobody is.
  const joiner = setInterval(() => {
    if (stopped) return
    const missing = cfg.clients - clients.size
    for (let i = 0; i < Math.min(missing, 3); i++) {
      const busy = [...clients].map((c) => c.room).filter((r) => !r.startsWith('big-'))
      const room = busy.length > 0 && rand() < 0.6 ? busy[pick(busy.length)] : `room-${pick(cfg.roomPool)}`
      open(/** @type {string} */ (room), lifetime(), undefined)
    }
  }, 100)

  // A big document: filled up to its size the first time, edited and left after that.
  const big = setInterval(() => {
    if (stopped) return
    stats.bigOpened++
    open(`big-${pick(cfg.bigDocs)}`, 15_000, (doc) => {
      const text = doc.getText('t')
      const chunk = 'lorem ipsum dolor sit amet '.repeat(2400) // ~64 KB
      for (let n = 0; text.length < cfg.bigDocBytes && n < 4; n++) text.insert(text.length, chunk)
    })
  }, cfg.bigEveryMs)

  // Reconnect storm: every socket dropped at once, without a close handshake.
  const storm = () => {
    stats.storms++
    for (const c of clients) /** @type {any} */ (c.provider.ws)?.terminate?.()
  }
  const storms = setInterval(() => { if (!stopped) storm() }, cfg.stormEveryMs)

  return {
    stats,
    storm,
    get clients () { return clients.size },
    stop () {
      stopped = true
      clearInterval(joiner)
      clearInterval(big)
      clearInterval(storms)
      for (const c of [...clients]) leave(c)
    },
  }
}
