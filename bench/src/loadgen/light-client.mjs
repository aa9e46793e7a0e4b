// A WebSocket client that does no Yjs work: it completes the sync handshake with an empty
// document, reads frame headers, and hands document updates / awareness payloads to a sink
// that reads struct ids only (see ../wire/parse.mjs).
import WebSocket from 'ws'
import * as decoding from 'lib0/decoding'
import { Msg, SyncType, HpAuth } from '../wire/protocol.mjs'
import { readHeader } from '../wire/parse.mjs'
import { framePrefix, emptyStep1, emptyStep2, hpAuthFrame } from '../wire/frames.mjs'

/**
 * @typedef {object} Sink
 * @property {(lc: LightClient, syncType: number, d: decoding.Decoder, payloadLength: number) => void} [onSync]
 *   a sync step 2 or update frame; `d` is at the start of the update bytes
 * @property {(lc: LightClient, d: decoding.Decoder) => void} [onAwareness] `d` is at the awareness update
 */

/** @type {Sink} */
const NO_SINK = {}

// Load clients stand for many users: spread them over loopback source addresses so per-IP
// connection caps (Tandem allows 100 per IP by default) see ~20 users per address, as in the
// field, instead of thousands behind one address. All of 127.0.0.0/8 is local on Linux.
const SOURCE_ADDRESSES = 253
let nextSource = 0
export const nextLocalAddress = () => `127.0.0.${2 + (nextSource++ % SOURCE_ADDRESSES)}`

/**
 * URL a client of `proto` dials for `room`: the room is the path for y-websocket-style servers;
 * Hocuspocus names the document inside every frame instead.
 * @param {string} base ws://host:port @param {import('../wire/protocol.mjs').Proto} proto @param {string} room
 */
const roomUrl = (base, proto, room) => proto === 'hp' ? base : `${base}/${encodeURIComponent(room)}`

/**
 * Every client offers permessage-deflate, as browsers do, and when a server accepts it (only
 * Tandem with WS_COMPRESSION=on here: the others' ws servers decline) compresses every message
 * it sends, as browsers do (ws' own default would leave messages under 1 KiB plain).
 */
const DEFLATE = { threshold: 0 }

export class LightClient {
  /**
   * @param {string} base ws://host:port
   * @param {string} room
   * @param {import('../wire/protocol.mjs').Proto} proto
   * @param {Sink} [sink]
   */
  constructor (base, room, proto, sink = NO_SINK) {
    this.base = base
    this.room = room
    this.proto = proto
    this.sink = sink
    this.prefix = framePrefix(proto, room)
    this.named = proto === 'hp'
    /** @type {WebSocket | null} */
    this.ws = null
    this.synced = false
    this.framesIn = 0
    this.bytesIn = 0
    /** @type {{ bytesRead: number } | null} the TCP socket under `ws`: bytes on the wire, frame headers and compression included */
    this.tcp = null
    /** set when the connection closed or failed */
    this.closedWith = /** @type {string | null} */ (null)
    this._head = { sub: -1 }
    /** @type {((bytes: number) => void) | null} */
    this._onStep2 = null
  }

  /**
   * Opens the socket and completes the handshake; resolves once synced.
   * @param {number} [timeoutMs]
   */
  connect (timeoutMs = 30_000) {
    return new Promise((resolve, reject) => {
      const url = roomUrl(this.base, this.proto, this.room)
      const ws = new WebSocket(url, url.startsWith('ws://127.') ? { localAddress: nextLocalAddress(), perMessageDeflate: DEFLATE } : { perMessageDeflate: DEFLATE })
      this.ws = ws
      ws.binaryType = 'nodebuffer'
      const timer = setTimeout(() => { fail(new Error(`sync timeout after ${timeoutMs} ms`)); ws.terminate() }, timeoutMs)
      /** @param {Error} err */
      const fail = (err) => { clearTimeout(timer); this._onStep2 = null; reject(err) }
      const done = () => { clearTimeout(timer); this.synced = true; resolve(undefined) }
      ws.on('open', () => {
        this.tcp = /** @type {{ _socket: { bytesRead: number } }} */ (/** @type {unknown} */ (ws))._socket
        if (this.proto === 'relay') { done(); return }
        if (this.proto === 'hp') ws.send(hpAuthFrame(this.room))
        ws.send(emptyStep1(this.prefix))
        this._onStep2 = () => { this._onStep2 = null; done() }
      })
      ws.on('message', (data, isBinary) => { if (isBinary) this._onMessage(/** @type {Buffer} */ (data)) })
      ws.on('error', (err) => { this.closedWith ??= err.message; if (!this.synced) fail(err) })
      ws.on('close', (code, reason) => {
        this.closedWith ??= `closed ${code} ${reason}`
        if (!this.synced) fail(new Error(`${this.closedWith} before sync`))
      })
    })
  }

  /** Bytes this client's socket read so far (after the handshake's 101 answer), as they were on the wire. */
  get wireBytesIn () {
    return this.tcp?.bytesRead ?? 0
  }

  /** Resolves with the payload length of the next sync step 2 this client receives. */
  nextStep2 () {
    return new Promise((resolve) => { this._onStep2 = resolve })
  }

  /** @param {Uint8Array} frame */
  send (frame) {
    this.ws?.send(frame)
  }

  /** Asks the server for its whole state (sync step 1 with an empty state vector). */
  requestState () {
    this.send(emptyStep1(this.prefix))
  }

  close () {
    return closeSocket(this.ws)
  }

  /** @param {Buffer} data */
  _onMessage (data) {
    this.framesIn++
    this.bytesIn += data.length
    const d = decoding.createDecoder(data)
    const type = readHeader(d, this.named, this._head)
    const sub = this._head.sub
    if (type === Msg.Sync || type === Msg.SyncReply) {
      if (sub === SyncType.Step1) {
        // The server asks what we have: nothing the server lacks (load clients never write
        // before they are synced), so an empty update is the truthful answer.
        if (this.proto !== 'relay') this.send(emptyStep2(this.prefix))
        return
      }
      const len = decoding.readVarUint(d)
      if (sub === SyncType.Step2 && this._onStep2 !== null) this._onStep2(len)
      this.sink.onSync?.(this, sub, d, len)
    } else if (type === Msg.Awareness) {
      decoding.readVarUint(d) // length of the awareness update
      this.sink.onAwareness?.(this, d)
    } else if (type === Msg.Auth && sub === HpAuth.PermissionDenied) {
      this.closedWith = 'permission denied'
      this.ws?.close()
    }
  }
}

/**
 * Closes a load client's socket with the close handshake, or terminates it after 2 s.
 * @param {WebSocket | null} ws
 * @returns {Promise<void>}
 */
export function closeSocket (ws) {
  if (ws === null || ws.readyState === WebSocket.CLOSED) return Promise.resolve()
  return new Promise((resolve) => {
    ws.once('close', () => resolve(undefined))
    ws.close()
    setTimeout(() => { ws.terminate(); resolve(undefined) }, 2000).unref()
  })
}

/**
 * Runs connect() on every client, at most `concurrency` at once.
 * @param {LightClient[]} clients @param {number} concurrency
 * @returns {Promise<{ ms: number, failed: number, firstError: string | null }>}
 */
export async function connectAll (clients, concurrency) {
  const t0 = performance.now()
  let next = 0
  let failed = 0
  /** @type {string | null} */
  let firstError = null
  const lane = async () => {
    while (next < clients.length) {
      const c = clients[next++]
      try { await c.connect() } catch (err) { failed++; firstError ??= String(/** @type {Error} */ (err).message) }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, clients.length) }, lane))
  return { ms: performance.now() - t0, failed, firstError }
}

/** @param {LightClient[]} clients */
export const closeAll = (clients) => Promise.all(clients.map((c) => c.close()))
