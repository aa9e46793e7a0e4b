// Root cause: a v1 update spends 2 bytes on a GC struct of length 1, and Yjs turns every struct
// it reads into an object (a GC or Item plus its ID, ~60-100 bytes of heap) when it decodes or
// applies the update: a frame within MAX_PAYLOAD_BYTES (16 MiB) becomes ~8 million objects,
// hundreds of MB of heap, decoded twice (validation, then apply). Structs that never merge (map
// entries under distinct keys) stay in the room's Y.Doc for as long as the room is loaded, and
// nothing bounded how many a room could accumulate. The rule (docs/architecture.md, "Budgets"):
// MAX_DOC_STRUCTS bounds the structs a room's Y.Doc may hold; an update that would pass it is
// refused, before it is applied, with 4413 `doc-too-large` (permanent: the client stops retrying).
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { encodeUpdate, manyMapEntries, tinyGcRun, type Struct } from './v1.js'
import { SUBDOC_WEIGHT } from '../../src/update/inspect.js'
import { assertCleanState, assertRoomWritable, Bystander, DocClient, heapAfterGc, MiB, RawClient, rssSampler, Servers, storedRows } from './harness.js'

const EVIL = 4242
const MAX_DOC_STRUCTS = 100_000

const servers = new Servers()
const cleanup: Array<() => void> = []
afterEach(async () => {
  for (const c of cleanup.splice(0)) c()
  await servers.closeAll()
})
function track<T extends { close(): void }>(c: T): T {
  cleanup.push(() => c.close())
  return c
}

describe('memory amplification: many tiny structs', () => {
  // Stricter than "refused before it is applied": Y.decodeUpdate alone turns 1,000,000 2-byte GC
  // structs into ~120 MiB of objects (measured: 124 MiB of peak RSS for this 1.9 MiB update; a
  // 16 MiB frame → ~1 GiB). So MAX_DOC_STRUCTS protects memory only if the structs are counted
  // BEFORE they are decoded into objects (a scan of the v1 struct headers, no objects: scanUpdate,
  // called by inspectUpdate in src/update/inspect.ts). This test holds the server to that.
  it('refusing 1,000,000 GC structs does not first decode them into objects (peak RSS grows < 48 MiB)', { timeout: 60_000 }, async () => {
    const s = await servers.start({ MAX_DOC_STRUCTS: String(MAX_DOC_STRUCTS) })
    const room = 'tiny-gc-peak'
    const update = tinyGcRun(EVIL, 10 * MAX_DOC_STRUCTS)
    const evil = track(await RawClient.open(s.wsUrl, room))
    heapAfterGc()
    const sampler = await rssSampler()
    try {
      evil.sendUpdate(update)
      const closed = await evil.closedWithin(8_000, 'the server to refuse 1,000,000 structs (close 4413 doc-too-large)')
      const growth = sampler.growth()
      expect(closed).toEqual({ code: 4413, reason: 'doc-too-large' })
      expect(growth, `peak RSS grew ${(growth / MiB).toFixed(0)} MiB while a ${(update.length / MiB).toFixed(1)} MiB update of 1,000,000 structs was refused`).toBeLessThan(48 * MiB)
    } finally {
      await sampler.stop()
    }
  })

  it('an update of 1,000,000 GC structs of length 1 (2 MB) is refused with 4413 before it is applied; nothing of it is kept; the room writes', { timeout: 60_000 }, async () => {
    const s = await servers.start({ MAX_DOC_STRUCTS: String(MAX_DOC_STRUCTS) })
    const room = 'tiny-gc'
    const alice = track(await DocClient.open(s.wsUrl, room))
    const watcher = track(await DocClient.open(s.wsUrl, room))
    alice.doc.getText('t').insert(0, 'hello')
    await watcher.raw.when(() => watcher.text() === 'hello', 'the first edit')
    const bystander = track(await Bystander.open(s.wsUrl))

    const update = tinyGcRun(EVIL, 10 * MAX_DOC_STRUCTS)
    expect(update.length).toBeLessThan(2.1 * MiB)
    const evil = track(await RawClient.open(s.wsUrl, room))
    const heapBefore = heapAfterGc()
    evil.sendUpdate(update)
    expect(await evil.closedWithin(8_000, 'the server to refuse 1,000,000 structs (close 4413 doc-too-large)')).toEqual({ code: 4413, reason: 'doc-too-large' })
    const retained = heapAfterGc() - heapBefore
    // A refused update leaves nothing behind (a few MiB of noise from the clients in this process).
    expect(retained, `heap retained after the refusal: ${(retained / MiB).toFixed(1)} MiB`).toBeLessThan(16 * MiB)
    await bystander.roundTrip()

    // Nothing of it was stored or relayed.
    for (const row of storedRows(s.dataDir, room).updates) {
      expect(Y.decodeUpdate(row.data).structs.some((st) => st.id.client === EVIL), `row ${row.seq} holds the GC run`).toBe(false)
    }
    expect(watcher.doc.store.clients.has(EVIL)).toBe(false)
    await assertRoomWritable(s.wsUrl, room)
    expect((await assertCleanState(s.url, room)).getText('t').toString()).toBe('hello')
  })

  it('structs that never merge accumulate across updates until the one that would pass MAX_DOC_STRUCTS: that one gets 4413, the earlier ones stay', { timeout: 60_000 }, async () => {
    const s = await servers.start({ MAX_DOC_STRUCTS: String(MAX_DOC_STRUCTS) })
    const room = 'many-keys'
    const watcher = track(await DocClient.open(s.wsUrl, room))
    const evil = track(await RawClient.open(s.wsUrl, room))
    const per = 30_000 // three batches (90,000 entries) fit, the fourth would pass 100,000
    for (let i = 0; i < 3; i++) {
      evil.sendUpdate(manyMapEntries(EVIL, per, i * per))
      expect(await evil.barrier(), `batch ${i + 1} (${(i + 1) * per} structs) is within the budget`).toBeUndefined()
      await watcher.raw.when(() => watcher.doc.getMap('m').size === (i + 1) * per || watcher.raw.closeInfo, `batch ${i + 1} relayed`, 15_000)
    }
    evil.sendUpdate(manyMapEntries(EVIL, per, 3 * per))
    expect(await evil.closedWithin(8_000, 'the fourth batch to be refused (close 4413 doc-too-large)')).toEqual({ code: 4413, reason: 'doc-too-large' })
    await assertRoomWritable(s.wsUrl, room)
    expect(watcher.doc.getMap('m').size).toBe(3 * per)
    const state = await assertCleanState(s.url, room)
    expect(state.getMap('m').size).toBe(3 * per)
    expect(state.getMap('m').has(`k${3 * per}`)).toBe(false)
  })
})

/** `n` subdocuments (distinct guids) under distinct keys of root map `subdocs`, one client, from `clock`. */
function subdocs(client: number, n: number, clock = 0): Uint8Array {
  const structs: Struct[] = []
  for (let i = 0; i < n; i++) structs.push({ kind: 'item', parent: { root: 'subdocs' }, parentSub: `d${clock + i}`, content: { kind: 'doc', guid: `sub-${clock + i}`, opts: {} } })
  return encodeUpdate({ clients: [{ client, clock, structs }], ds: [] })
}

describe('memory amplification: subdocuments', () => {
  // Root cause guarded: the server makes a Y.Doc for every subdocument it integrates (~2.4 KB of
  // heap, against ~300-460 bytes for an ordinary struct) from ~16 bytes on the wire, and each
  // counted as one struct: MAX_DOC_STRUCTS let ~8× more memory through than it meant to.
  it(`each counts as ${SUBDOC_WEIGHT} structs against MAX_DOC_STRUCTS (and again after a recount of the document)`, { timeout: 60_000 }, async () => {
    const s = await servers.start({ MAX_DOC_STRUCTS: String(1_000 * SUBDOC_WEIGHT) })
    const room = 'subdocs'
    const watcher = track(await DocClient.open(s.wsUrl, room))
    const evil = track(await RawClient.open(s.wsUrl, room))
    evil.sendUpdate(subdocs(EVIL, 900))
    expect(await evil.barrier(), '900 subdocuments fit').toBeUndefined()
    await watcher.raw.when(() => watcher.doc.getMap('subdocs').size === 900 || watcher.raw.closeInfo, 'the 900 relayed')
    evil.sendUpdate(subdocs(EVIL, 101, 900))
    expect(await evil.closedWithin(8_000, '1,001 subdocuments to be refused (close 4413 doc-too-large)')).toEqual({ code: 4413, reason: 'doc-too-large' })
    await assertRoomWritable(s.wsUrl, room)
    const state = await assertCleanState(s.url, room)
    expect(state.getMap('subdocs').size).toBe(900)
  })
})
