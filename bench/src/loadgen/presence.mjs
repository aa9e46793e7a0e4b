// Scenario E: every client of every room moves its caret at a fixed rate (awareness updates);
// receivers read the (client, clock) ids of each awareness entry.
import { LightClient, connectAll, closeAll } from './light-client.mjs'
import { awarenessPool } from '../wire/frames.mjs'
import { readAwarenessIds } from '../wire/parse.mjs'
import { Window, openLoop, measured } from './window.mjs'

const PRESENCE_ID_BASE = 500_000

class Sender {
  /** @param {LightClient} lc @param {number} id @param {number} poolSize */
  constructor (lc, id, poolSize) {
    this.lc = lc
    this.id = id
    this.pool = awarenessPool(lc.prefix, id, poolSize, `user ${id}`)
    this.sentAt = new Float64Array(poolSize + 1) // index = awareness clock (starts at 1)
    this.next = 0
  }
}

class Receiver {
  /** @param {Presence} p @param {number} ownId */
  constructor (p, ownId) { this.p = p; this.ownId = ownId }

  /** @param {LightClient} _lc @param {import('lib0/decoding').Decoder} d */
  onAwareness (_lc, d) {
    this.p.now = performance.now()
    readAwarenessIds(d, this)
  }

  /** @param {number} client @param {number} clock */
  onPresence (client, clock) {
    if (client === this.ownId) return
    const s = this.p.senders.get(client)
    if (s === undefined || clock > s.next) return
    this.p.win.deliver(s.sentAt[clock], this.p.now)
  }
}

export class Presence {
  /**
   * @param {{ base: string, proto: import('../wire/protocol.mjs').Proto, rooms: number, clientsPerRoom: number,
   *   poolSize: number, concurrency: number, roomPrefix: string }} o
   */
  constructor (o) {
    this.o = o
    /** @type {Map<number, Sender>} */
    this.senders = new Map()
    /** @type {LightClient[]} */
    this.clients = []
    this.win = new Window()
    this.now = 0
    this.exhausted = 0
    for (let r = 0; r < o.rooms; r++) {
      for (let c = 0; c < o.clientsPerRoom; c++) {
        const id = PRESENCE_ID_BASE + r * 64 + c
        const lc = new LightClient(o.base, `${o.roomPrefix}-${r}`, o.proto)
        lc.sink = new Receiver(this, id)
        this.senders.set(id, new Sender(lc, id, o.poolSize))
        this.clients.push(lc)
      }
    }
  }

  setup () { return connectAll(this.clients, this.o.concurrency) }

  /**
   * @param {{ hz: number }} load @param {{ warmupMs: number, durationMs: number }} t
   * @param {(name: string) => void} mark
   */
  async run (load, t, mark) {
    const senders = [...this.senders.values()]
    let sentInWindow = 0
    const loop = openLoop(load.hz * senders.length, (k, at) => {
      const s = senders[k % senders.length]
      if (s.next >= s.pool.count) { this.exhausted++; return }
      s.sentAt[s.next + 1] = at
      s.lc.send(s.pool.get(s.next++))
      if (at >= this.win.start) sentInWindow++
    })
    const elapsed = await measured(this.win, t, mark)
    loop.stop()
    await this.win.drain()
    mark('drained')
    return {
      elapsedMs: elapsed,
      deliveries: this.win.deliveries,
      latencies: this.win.latencies,
      // Servers may coalesce a client's consecutive states; the ratio shows how many arrived.
      expectedDeliveries: sentInWindow * (this.o.clientsPerRoom - 1),
      poolExhausted: this.exhausted,
      disconnected: this.clients.filter((c) => c.closedWith !== null).length,
    }
  }

  close () { return closeAll(this.clients) }
}
