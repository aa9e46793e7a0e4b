// Scenario D: a large document is seeded once, then waves of clients join at the same time.
// A joiner is synced when it holds the whole document: the server's sync step 2 (or, from the
// relay, the replayed state frame).
import { readFileSync } from 'node:fs'
import * as Y from 'yjs'
import { LightClient, connectAll, closeAll } from './light-client.mjs'
import { syncFrame } from '../wire/frames.mjs'
import { SyncType, TEXT_NAME } from '../wire/protocol.mjs'
import { readTrace } from '../trace-file.mjs'

/** Resolves when a joiner received a frame that carries the document. */
class DocFrameSink {
  /** @param {boolean} relay */
  constructor (relay) {
    this.relay = relay
    this.bytes = -1
    /** @type {() => void} */
    this.resolve = () => {}
    this.got = new Promise((resolve) => { this.resolve = () => resolve(undefined) })
    /** @type {Uint8Array | null} kept only when asked to verify content */
    this.keep = null
    this.wantCopy = false
  }

  /** @param {LightClient} _lc @param {number} syncType @param {import('lib0/decoding').Decoder} d @param {number} len */
  onSync (_lc, syncType, d, len) {
    if (this.bytes >= 0) return
    if (syncType === SyncType.Step2 || (this.relay && syncType === SyncType.Update)) {
      this.bytes = len
      if (this.wantCopy) this.keep = d.arr.slice(d.pos, d.pos + len)
      this.resolve()
    }
  }
}

export class Join {
  /** @param {{ base: string, proto: import('../wire/protocol.mjs').Proto, room: string, tracePath: string }} o */
  constructor (o) {
    this.o = o
    this.trace = readTrace(readFileSync(o.tracePath))
    /** @type {LightClient | null} */
    this.holder = null
  }

  /** Sends the editing history (the relay gets the compacted state as one frame) and waits until the server holds it. */
  async seed () {
    const { base, proto, room } = this.o
    const t0 = performance.now()
    const lc = new LightClient(base, room, proto)
    await lc.connect()
    const updates = proto === 'relay' ? [this.trace.state] : this.trace.chunks
    for (const u of updates) lc.send(syncFrame(lc.prefix, SyncType.Update, u))
    let stateBytes = this.trace.state.length
    if (proto !== 'relay') {
      // Messages on one connection are handled in order, so this answer holds every chunk.
      const answer = lc.nextStep2()
      lc.requestState()
      stateBytes = await answer
    }
    this.holder = lc
    return { seedMs: performance.now() - t0, frames: updates.length, stateBytes, traceStateBytes: this.trace.state.length }
  }

  async dropHolder () {
    await this.holder?.close()
    this.holder = null
  }

  /** @param {{ clients: number }} o */
  async wave (o) {
    const { base, proto, room } = this.o
    const sinks = Array.from({ length: o.clients }, () => new DocFrameSink(proto === 'relay'))
    const clients = sinks.map((s) => new LightClient(base, room, proto, s))
    const t0 = performance.now()
    const conn = await connectAll(clients, clients.length)
    await Promise.race([Promise.all(sinks.map((s) => s.got)), new Promise((resolve) => setTimeout(resolve, 60_000))])
    const ms = performance.now() - t0
    const bytes = sinks.map((s) => s.bytes)
    const wire = clients.reduce((n, c) => n + c.wireBytesIn, 0)
    await closeAll(clients)
    return { ms, failed: conn.failed + bytes.filter((b) => b < 0).length, firstError: conn.firstError, minBytes: Math.min(...bytes), maxBytes: Math.max(...bytes), wireBytesPerJoiner: wire / clients.length }
  }

  /** One client joins and checks (with Yjs, outside any timing) that it got the whole text. */
  async verifyContent () {
    const { base, proto, room } = this.o
    const sink = new DocFrameSink(proto === 'relay')
    sink.wantCopy = true
    const lc = new LightClient(base, room, proto, sink)
    await lc.connect()
    await Promise.race([sink.got, new Promise((resolve) => setTimeout(resolve, 30_000))])
    await lc.close()
    if (sink.keep === null) return { ok: false, why: 'no document frame' }
    const doc = new Y.Doc()
    Y.applyUpdate(doc, sink.keep)
    const text = doc.getText(TEXT_NAME).toString()
    const ok = text === this.trace.text
    return { ok, why: ok ? '' : `text differs: ${text.length} vs ${this.trace.text.length} chars` }
  }

  close () { return this.dropHolder() }
}
