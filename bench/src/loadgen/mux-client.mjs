// A load client for Tandem's `tandem-mux-v1` (docs/protocol.md "Many rooms over one
// connection"): one socket to `/` holding one subscription in each of several rooms, each a
// channel that completes the same empty-document sync handshake a LightClient does. Like the
// LightClient it does no Yjs work. Scenario C with `tandem-mux` uses it to compare memory per
// room subscription against one socket per subscription.
import WebSocket from 'ws'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { Msg, SyncType } from '../wire/protocol.mjs'
import { emptyStep1, emptyStep2 } from '../wire/frames.mjs'
import { closeSocket } from './light-client.mjs'

const MUX_PROTOCOL = 'tandem-mux-v1'
/** Control messages on channel 0 (packages/sync/src/protocol/mux.ts). */
const Op = Object.freeze({ Open: 0, Opened: 1, Closed: 2, Keepalive: 3 })

/** @param {number} channel */
function prefixOf (channel) {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, channel)
  return encoding.toUint8Array(e)
}

/** @param {number} channel @param {string} room */
function openMessage (channel, room) {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 0)
  encoding.writeVarUint(e, Op.Open)
  encoding.writeVarUint(e, channel)
  encoding.writeVarString(e, room)
  encoding.writeVarString(e, '') // no token: the bench server runs without AUTH_SECRET
  return encoding.toUint8Array(e)
}

export class MuxLightClient {
  /**
   * @param {string} base ws://host:port
   * @param {string[]} rooms one channel per room
   * @param {string} [localAddress]
   */
  constructor (base, rooms, localAddress) {
    this.base = base
    this.rooms = rooms
    this.localAddress = localAddress
    /** @type {WebSocket | null} */
    this.ws = null
    /** set when the connection or one of its rooms closed or failed */
    this.closedWith = /** @type {string | null} */ (null)
    this.prefixes = rooms.map((_, i) => prefixOf(i + 1))
    /** @type {Set<number>} channels synced so far */
    this.synced = new Set()
  }

  /** Opens the socket and every room on it; resolves once every room is synced. */
  connect (timeoutMs = 30_000) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${this.base}/`, [MUX_PROTOCOL], this.localAddress ? { localAddress: this.localAddress } : {})
      this.ws = ws
      ws.binaryType = 'nodebuffer'
      const timer = setTimeout(() => { fail(new Error(`sync timeout after ${timeoutMs} ms`)); ws.terminate() }, timeoutMs)
      let settled = false
      /** @param {Error} err */
      const fail = (err) => { if (settled) return; settled = true; clearTimeout(timer); reject(err) }
      this._done = () => { if (settled) return; settled = true; clearTimeout(timer); resolve(undefined) }
      this._fail = fail
      ws.on('open', () => {
        if (ws.protocol !== MUX_PROTOCOL) { fail(new Error(`server did not select ${MUX_PROTOCOL}`)); return }
        this.rooms.forEach((room, i) => ws.send(openMessage(i + 1, room)))
      })
      ws.on('message', (data, isBinary) => { if (isBinary) this._onMessage(/** @type {Buffer} */ (data)) })
      ws.on('error', (err) => { this.closedWith ??= err.message; fail(err) })
      ws.on('close', (code, reason) => {
        this.closedWith ??= `closed ${code} ${reason}`
        fail(new Error(`${this.closedWith} before every room synced`))
      })
    })
  }

  /** @param {Buffer} data */
  _onMessage (data) {
    const d = decoding.createDecoder(data)
    const channel = decoding.readVarUint(d)
    if (channel === 0) {
      const op = decoding.readVarUint(d)
      if (op === Op.Opened) {
        const ch = decoding.readVarUint(d)
        this.ws?.send(emptyStep1(this.prefixes[ch - 1] ?? prefixOf(ch)))
      } else if (op === Op.Closed) {
        const ch = decoding.readVarUint(d)
        const code = decoding.readVarUint(d)
        this.closedWith ??= `room ${this.rooms[ch - 1]} closed ${code} ${decoding.readVarString(d)}`
        this._fail?.(new Error(this.closedWith))
      }
      return
    }
    const prefix = this.prefixes[channel - 1]
    if (prefix === undefined) return
    const type = decoding.readVarUint(d)
    if (type !== Msg.Sync) return
    const sub = decoding.readVarUint(d)
    if (sub === SyncType.Step1) this.ws?.send(emptyStep2(prefix))
    else if (sub === SyncType.Step2) {
      this.synced.add(channel)
      if (this.synced.size === this.rooms.length) this._done?.()
    }
  }

  close () {
    return closeSocket(this.ws)
  }
}
