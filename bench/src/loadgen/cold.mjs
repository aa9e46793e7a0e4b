// Scenario G: cold room loads. Rooms are seeded (each its own small document), the server is
// restarted so nothing is in memory, then the rooms are opened in random order: time to first
// sync (connect → the server's sync step 2) per room. Then one large document: its first load
// and a wave of joiners after it.
import * as Y from 'yjs'
import { LightClient, connectAll, closeAll } from './light-client.mjs'
import { syncFrame } from '../wire/frames.mjs'
import { SyncType, TEXT_NAME } from '../wire/protocol.mjs'

/** Deterministic PRNG (mulberry32): the same rooms, text and order on every target. @param {number} seed */
function rng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const WORDS = 'the quick brown fox jumps over a lazy dog while seven writers edit one shared page together'.split(' ')

/** `chars` of words, typed in `edits` inserts at random places: a document with an editing history. */
function documentUpdate (/** @type {() => number} */ rand, /** @type {number} */ chars, /** @type {number} */ edits) {
  const doc = new Y.Doc()
  const text = doc.getText(TEXT_NAME)
  const per = Math.max(1, Math.floor(chars / edits))
  for (let i = 0; i < edits; i++) {
    let s = ''
    while (s.length < per) s += WORDS[Math.floor(rand() * WORDS.length)] + ' '
    text.insert(Math.floor(rand() * (text.length + 1)), s)
  }
  const update = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return update
}

/**
 * Sends `update` to `room` and resolves once a state request answers with all of it (the server
 * holds it). Asked again while the answer is smaller: Tandem answers only with what is stored, and
 * a request read in the same turn as the update is answered before that update's commit.
 */
async function seedRoom (/** @type {string} */ base, /** @type {any} */ proto, /** @type {string} */ room, /** @type {Uint8Array} */ update) {
  const lc = new LightClient(base, room, proto)
  await lc.connect()
  lc.send(syncFrame(lc.prefix, SyncType.Update, update))
  let bytes = 0
  for (let i = 0; i < 100 && bytes < update.length; i++) {
    const answer = lc.nextStep2()
    lc.requestState()
    bytes = await answer
  }
  await lc.close()
  if (bytes < update.length) throw new Error(`${room}: the server's state is ${bytes} bytes after seeding ${update.length}`)
  return bytes
}

export class ColdLoad {
  /** @param {{ base: string, proto: any, roomPrefix: string, rooms: number, docChars: number, edits: number, concurrency: number, seed: number, bigChars: number }} o */
  constructor (o) {
    this.o = o
  }

  /** Seeds every room (concurrently, bounded) and the large document. */
  async seed () {
    const { base, proto, roomPrefix, rooms, docChars, edits, concurrency, seed } = this.o
    const rand = rng(seed)
    const t0 = performance.now()
    let next = 0
    let bytes = 0
    const worker = async () => {
      while (next < rooms) {
        const r = next++
        bytes += await seedRoom(base, proto, `${roomPrefix}-${r}`, documentUpdate(rand, docChars, edits))
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, rooms) }, worker))
    const bigUpdate = documentUpdate(rand, this.o.bigChars, Math.max(1, Math.floor(this.o.bigChars / 1000)))
    const bigBytes = await seedRoom(base, proto, `${roomPrefix}-big`, bigUpdate)
    return { seedMs: performance.now() - t0, avgDocBytes: bytes / rooms, bigBytes }
  }

  /** Opens every room once, in a random order, `concurrency` at a time; each client leaves once synced. */
  async openAll (/** @type {{ concurrency: number }} */ a) {
    const { base, proto, roomPrefix, rooms, seed } = this.o
    const rand = rng(seed + 1)
    const order = Array.from({ length: rooms }, (_, i) => i)
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1))
      ;[order[i], order[j]] = [order[j], order[i]]
    }
    /** @type {number[]} */
    const latencies = []
    let failed = 0
    let firstError = ''
    let next = 0
    const t0 = performance.now()
    const worker = async () => {
      while (next < order.length) {
        const lc = new LightClient(base, `${roomPrefix}-${order[next++]}`, proto)
        const t = performance.now()
        try {
          await lc.connect()
          latencies.push(performance.now() - t)
        } catch (err) {
          failed++
          firstError ||= String(/** @type {Error} */ (err).message)
        }
        await lc.close()
      }
    }
    await Promise.all(Array.from({ length: a.concurrency }, worker))
    return { latencies, failed, firstError, totalMs: performance.now() - t0 }
  }

  /** The large document: one client opens it cold (its load), then `clients` join at once. */
  async big (/** @type {{ clients: number }} */ a) {
    const { base, proto, roomPrefix } = this.o
    const room = `${roomPrefix}-big`
    const first = new LightClient(base, room, proto)
    const t0 = performance.now()
    await first.connect(120_000)
    const firstMs = performance.now() - t0
    const mark = performance.now()
    const joiners = Array.from({ length: a.clients }, () => new LightClient(base, room, proto))
    const conn = await connectAll(joiners, joiners.length)
    const waveMs = performance.now() - mark
    await closeAll([first, ...joiners])
    return { firstMs, waveMs, failed: conn.failed, firstError: conn.firstError }
  }

  close () {}
}
