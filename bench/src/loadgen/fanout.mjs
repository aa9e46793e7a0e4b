// Scenarios A and B: rooms of clients where a few writers append characters and everyone
// else receives them. Closed loop (A: each writer keeps `window` updates unacknowledged by the
// room's first reader) or open loop (B: a fixed total rate, round-robin over writers).
import { LightClient, connectAll, closeAll } from './light-client.mjs'
import { appendUpdatePool } from '../wire/frames.mjs'
import { SyncType } from '../wire/protocol.mjs'
import { readStructIds } from '../wire/parse.mjs'
import { Window, openLoop, measured } from './window.mjs'

/** First Yjs client id of writers; readers never write so their ids only skip their own echoes. */
const WRITER_ID_BASE = 100_000

class Writer {
  /** @param {LightClient} lc @param {number} id @param {number} poolSize */
  constructor (lc, id, poolSize) {
    this.lc = lc
    this.id = id
    this.pool = appendUpdatePool(lc.prefix, id, poolSize)
    this.sentAt = new Float64Array(poolSize)
    this.next = 0
    this.inflight = 0
  }
}

/** Per-client receiver: counts every struct of another writer as one delivery per clock. */
class Receiver {
  /** @param {Fanout} f @param {number} ownId @param {boolean} acks this client acknowledges for the closed loop */
  constructor (f, ownId, acks) {
    this.f = f
    this.ownId = ownId
    this.acks = acks
  }

  /** @param {LightClient} _lc @param {number} syncType @param {import('lib0/decoding').Decoder} d */
  onSync (_lc, syncType, d) {
    if (syncType !== SyncType.Update) return
    this.f.now = performance.now()
    readStructIds(d, this)
  }

  /** @param {number} client @param {number} clock @param {number} len */
  onRange (client, clock, len) {
    if (client === this.ownId) return
    const f = this.f
    const w = f.writers.get(client)
    if (w === undefined) return
    for (let i = 0; i < len; i++) f.win.deliver(w.sentAt[clock + i], f.now)
    if (this.acks && f.closed) { w.inflight -= len; f.topUp(w) }
  }
}

export class Fanout {
  /**
   * @param {{ base: string, bases?: string[], proto: import('../wire/protocol.mjs').Proto, rooms: number, clientsPerRoom: number,
   *   writersPerRoom: number, poolSize: number, concurrency: number, roomPrefix: string }} o
   */
  constructor (o) {
    this.o = o
    /** @type {Map<number, Writer>} */
    this.writers = new Map()
    /** @type {LightClient[]} */
    this.clients = []
    this.win = new Window()
    this.now = 0
    this.closed = false
    this.sending = false
    this.window = 1
    this.exhausted = 0
    for (let r = 0; r < o.rooms; r++) {
      const room = `${o.roomPrefix}-${r}`
      for (let c = 0; c < o.clientsPerRoom; c++) {
        const id = WRITER_ID_BASE + r * 64 + c
        const isWriter = c < o.writersPerRoom
        // A cluster's clients of each room alternate between its servers (its writers land on different ones).
        const lc = new LightClient(o.bases?.[c % o.bases.length] ?? o.base, room, o.proto)
        lc.sink = new Receiver(this, id, c === o.writersPerRoom)
        if (isWriter) this.writers.set(id, new Writer(lc, id, o.poolSize))
        this.clients.push(lc)
      }
    }
  }

  async setup () {
    return connectAll(this.clients, this.o.concurrency)
  }

  /** @param {Writer} w */
  topUp (w) {
    while (this.sending && w.inflight < this.window) {
      if (w.next >= w.pool.count) { this.exhausted++; return }
      w.sentAt[w.next] = performance.now()
      w.lc.send(w.pool.get(w.next++))
      w.inflight++
    }
  }

  /**
   * @param {{ mode: 'closed', window: number } | { mode: 'open', rate: number }} load
   * @param {{ warmupMs: number, durationMs: number }} t
   * @param {(name: string) => void} mark
   */
  async run (load, t, mark) {
    const framesBefore = () => this.clients.reduce((n, c) => n + c.framesIn, 0)
    const wireBefore = () => this.clients.reduce((n, c) => n + c.wireBytesIn, 0)
    this.sending = true
    /** @type {{ stop(): void, sent(): number } | null} */
    let loop = null
    const writers = [...this.writers.values()]
    let sentInWindow = 0
    if (load.mode === 'closed') {
      this.closed = true
      this.window = load.window
      for (const w of writers) this.topUp(w)
    } else {
      loop = openLoop(load.rate, (k, at) => {
        const w = writers[k % writers.length]
        if (w.next >= w.pool.count) { this.exhausted++; return }
        w.sentAt[w.next] = at
        w.lc.send(w.pool.get(w.next++))
        if (at >= this.win.start) sentInWindow++
      })
    }
    let frames0 = 0
    let wireAtStart = 0
    let wireInWindow = 0
    const sent0 = writers.reduce((n, w) => n + w.next, 0)
    const elapsed = await measured(this.win, t, (name) => {
      if (name === 'start') {
        frames0 = framesBefore()
        wireAtStart = wireBefore()
      }
      if (name === 'stop') wireInWindow = wireBefore() - wireAtStart
      mark(name)
    })
    const frames = framesBefore() - frames0
    this.sending = false
    loop?.stop()
    const sent = writers.reduce((n, w) => n + w.next, 0) - sent0
    await this.win.drain()
    mark('drained')
    const receivers = this.o.clientsPerRoom - 1
    return {
      elapsedMs: elapsed,
      deliveries: this.win.deliveries,
      framesIn: frames,
      wireBytesIn: wireInWindow,
      updatesSent: sent,
      latencies: this.win.latencies,
      // Open loop: how many of the window's updates reached every other client of the room.
      expectedDeliveries: load.mode === 'open' ? sentInWindow * receivers : null,
      poolExhausted: this.exhausted,
      disconnected: this.clients.filter((c) => c.closedWith !== null).length,
    }
  }

  close () { return closeAll(this.clients) }
}
