// Scenario C: many idle, synced connections; the parent samples the server's RSS.
import { LightClient, connectAll, closeAll } from './light-client.mjs'

export class Capacity {
  /** @param {{ base: string, proto: import('../wire/protocol.mjs').Proto, rooms: number, clientsPerRoom: number, concurrency: number, roomPrefix: string }} o */
  constructor (o) {
    this.o = o
    /** @type {LightClient[]} */
    this.clients = []
    for (let r = 0; r < o.rooms; r++) {
      for (let c = 0; c < o.clientsPerRoom; c++) this.clients.push(new LightClient(o.base, `${o.roomPrefix}-${r}`, o.proto))
    }
  }

  setup () { return connectAll(this.clients, this.o.concurrency) }

  /** Connections the server dropped while they sat idle. */
  dropped () { return this.clients.filter((c) => c.closedWith !== null).length }

  close () { return closeAll(this.clients) }
}
