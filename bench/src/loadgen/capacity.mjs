// Scenario C: many idle, synced connections; the parent samples the server's RSS.
import { LightClient, connectAll, closeAll, nextLocalAddress } from './light-client.mjs'
import { MuxLightClient } from './mux-client.mjs'

export class Capacity {
  /** @param {{ base: string, proto: import('../wire/protocol.mjs').Proto, rooms: number, clientsPerRoom: number, roomsPerConn: number, concurrency: number, roomPrefix: string }} o */
  constructor (o) {
    this.o = o
    /** @type {Array<LightClient | MuxLightClient>} */
    this.clients = []
    if (o.proto === 'mux') {
      // The same subscriptions (every room × clientsPerRoom), `roomsPerConn` rooms per socket:
      // subscriptions listed room by room within each round, so a socket's rooms are distinct.
      const subs = []
      for (let c = 0; c < o.clientsPerRoom; c++) for (let r = 0; r < o.rooms; r++) subs.push(`${o.roomPrefix}-${r}`)
      for (let i = 0; i < subs.length; i += o.roomsPerConn) this.clients.push(new MuxLightClient(o.base, subs.slice(i, i + o.roomsPerConn), nextLocalAddress()))
      return
    }
    for (let r = 0; r < o.rooms; r++) {
      for (let c = 0; c < o.clientsPerRoom; c++) this.clients.push(new LightClient(o.base, `${o.roomPrefix}-${r}`, o.proto))
    }
  }

  setup () { return connectAll(this.clients, this.o.concurrency) }

  /** Connections the server dropped while they sat idle. */
  dropped () { return this.clients.filter((c) => c.closedWith !== null).length }

  close () { return closeAll(this.clients) }
}
