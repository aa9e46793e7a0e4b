// The light receivers count deliveries from struct ids alone; if that parse drifted from Yjs'
// own decoder, every delivery figure in bench/results would be wrong without anyone noticing.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as prng from 'lib0/prng'
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness'
import { readStructIds, readAwarenessIds } from '../src/wire/parse.mjs'
import { appendCharUpdate, awarenessUpdate } from '../src/wire/frames.mjs'

type Range = [client: number, clock: number, len: number]

const lightIds = (update: Uint8Array): Range[] => {
  const out: Range[] = []
  readStructIds(decoding.createDecoder(update), { onRange: (c: number, k: number, l: number) => { out.push([c, k, l]) } })
  return out
}
const yjsIds = (update: Uint8Array): Range[] =>
  Y.decodeUpdate(update).structs.map((s) => [s.id.client, s.id.clock, s.length])

/** Random edits on every shared type and content kind, by several clients. */
function randomUpdates (seed: number): Uint8Array[] {
  const gen = prng.create(seed)
  const docs = [1, 2, 3].map((id) => { const d = new Y.Doc(); d.clientID = id * 1_000_003; return d })
  const updates: Uint8Array[] = []
  docs.forEach((d) => d.on('update', (u: Uint8Array) => updates.push(u)))
  for (let i = 0; i < 300; i++) {
    const d = prng.oneOf(gen, docs)
    const text = d.getText('text')
    switch (prng.uint32(gen, 0, 8)) {
      case 0: text.insert(prng.uint32(gen, 0, text.length), prng.word(gen, 1, 6) + '😀é'); break
      case 1: if (text.length > 2) text.delete(prng.uint32(gen, 0, text.length - 2), 2); break
      case 2: text.format(0, Math.min(3, text.length), { bold: true }); break
      case 3: d.getMap('map').set(prng.word(gen, 1, 4), { n: i, s: 'x' }); break
      case 4: d.getArray('arr').push([i, new Uint8Array([1, 2]), null]); break
      case 5: { const el = new Y.XmlElement('p'); el.insert(0, [new Y.XmlText('hi')]); d.getXmlFragment('default').push([el]); break }
      case 6: text.insertEmbed(0, { image: 'x.png' }); break
      case 7: d.getMap('map').set('sub', new Y.Map()); break
      default: { const f = d.getXmlFragment('default'); if (f.length > 0) f.delete(0, 1) } // children become GC structs
    }
    // Sync a random pair now and then so origins point across clients.
    const [a, b] = [prng.oneOf(gen, docs), prng.oneOf(gen, docs)]
    if (a !== b && prng.bool(gen)) Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
  }
  for (const d of docs) updates.push(Y.encodeStateAsUpdate(d))
  // A merge of non-adjacent updates of one client holds a Skip struct over the gap.
  const ownClient = docs[0]!.clientID
  const own = updates.filter((u) => yjsIds(u).every(([c]) => c === ownClient))
  updates.push(Y.mergeUpdates([own[0]!, own[own.length - 1]!]))
  return updates
}

describe('light client parsing agrees with Yjs', () => {
  it('reads the same struct ids as Y.decodeUpdate', () => {
    const seed = 0x7a4d3
    console.log(`seed ${seed}`)
    const kinds = new Set<number>()
    for (const u of randomUpdates(seed)) {
      expect(lightIds(u)).toEqual(yjsIds(u))
      readStructIds(decoding.createDecoder(u), { onRange: (_c: number, _k: number, _l: number, kind: number) => { kinds.add(kind) } })
    }
    // GC, Skip and every content kind current Yjs writes occurred (not legacy JSON, not subdocs).
    expect([...kinds].sort((a, b) => a - b)).toEqual([0, 1, 3, 4, 5, 6, 7, 8, 10])
  })

  it('builds append updates byte-identical to what Yjs emits', () => {
    const d = new Y.Doc()
    d.clientID = 4242
    const emitted: Uint8Array[] = []
    d.on('update', (u: Uint8Array) => emitted.push(u))
    for (let i = 0; i < 40; i++) d.getText('text').insert(i, 'q')
    emitted.forEach((u, i) => expect(appendCharUpdate(4242, i, 'q')).toEqual(u))
  })

  it('builds and reads awareness updates like y-protocols', () => {
    const a = new Awareness(new Y.Doc())
    a.setLocalState({ cursor: { anchor: 3 } })
    const client = a.clientID
    const clock = a.meta.get(client)!.clock
    const json = JSON.stringify(a.getLocalState())
    expect(awarenessUpdate(client, clock, json)).toEqual(encodeAwarenessUpdate(a, [client]))
    const seen: Array<[number, number]> = []
    readAwarenessIds(decoding.createDecoder(encodeAwarenessUpdate(a, [client])), { onPresence: (c: number, k: number) => { seen.push([c, k]) } })
    expect(seen).toEqual([[client, clock]])
  })
})
