import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { ProtocolError } from './errors.js'
import { MAX_VALUE_DEPTH, scanUpdate, type UpdateScan } from './update-scan.js'

// The reference is Yjs itself: Y.decodeUpdate (lib0's decoders underneath). scanUpdate must throw
// exactly when it throws, and otherwise agree with what it decoded.

interface Block {
  client: number
  clock: number
  end: number
  structs: number
}
interface Summary {
  scan: Omit<UpdateScan, 'end' | 'unsafeNumbers'>
  /**
   * a number Y.decodeUpdate returns (struct and ID clients and clocks, lengths, delete ranges) is
   * not a safe integer; scanUpdate must then set unsafeNumbers (it also sees counts and lengths
   * that Yjs does not return)
   */
  unsafe: boolean
  /** runs of structs with one client and contiguous clocks (blocks of the same client that continue each other merge) */
  runs: Block[]
  /** delete ranges grouped by client in first-seen order, as Yjs's DeleteSet holds them */
  deletes: Array<[number, Array<[number, number]>]>
  /** structs by kind: GC, Skip, or the Item's content class (and type class for ContentType) */
  kinds: Map<string, number>
}

function reference(u: Uint8Array): Summary | null {
  let decoded: ReturnType<typeof Y.decodeUpdate>
  try {
    decoded = Y.decodeUpdate(u)
  } catch {
    return null
  }
  const { structs, ds } = decoded
  const kinds = new Map<string, number>()
  const count = (k: string) => kinds.set(k, (kinds.get(k) ?? 0) + 1)
  let items = 0
  let types = 0
  let subdocs = 0
  let explicitParents = 0
  const runs: Block[] = []
  let unsafe = false
  const safe = (...xs: number[]) => {
    if (!xs.every(Number.isSafeInteger)) unsafe = true
  }
  const safeId = (id: Y.ID | null) => id !== null && safe(id.client, id.clock)
  for (const s of structs) {
    safe(s.id.client, s.id.clock, s.id.clock + s.length)
    if (s instanceof Y.Item) {
      safeId(s.origin)
      safeId(s.rightOrigin)
      if (s.parent !== null && typeof s.parent === 'object' && 'client' in s.parent) safeId(s.parent)
      items++
      if (s.parent !== null) explicitParents++ // a root type's name (string) or the parent item's ID
      const c = s.content
      if (c instanceof Y.ContentType) {
        types++
        count(`ContentType:${c.type.constructor.name}`)
      } else count(c.constructor.name)
      if (c instanceof Y.ContentDoc) subdocs++
    } else count(s.constructor.name) // GC, Skip
    const last = runs[runs.length - 1]
    if (last !== undefined && Object.is(last.client, s.id.client) && Object.is(last.end, s.id.clock)) {
      last.end = s.id.clock + s.length
      last.structs++
    } else runs.push({ client: s.id.client, clock: s.id.clock, end: s.id.clock + s.length, structs: 1 })
  }
  const deletes: Summary['deletes'] = []
  let deleteRanges = 0
  for (const [client, list] of ds.clients) {
    for (const d of list) safe(client, d.clock, d.len, d.clock + d.len)
    deletes.push([client, list.map((d) => [d.clock, d.len])])
    deleteRanges += list.length
  }
  return {
    scan: {
      structs: structs.length,
      items,
      types,
      subdocs,
      explicitParents,
      deleteRanges,
      clients: -1, // blocks are not visible in Y.decodeUpdate's result; checked through `runs`
      hasContent: structs.length > 0 || ds.clients.size > 0,
    },
    unsafe,
    runs,
    deletes,
    kinds,
  }
}

/** scanUpdate with its callbacks collected into the reference's shape, or the ProtocolError it threw */
function scanned(u: Uint8Array): { summary: Summary; end: number; blocks: number; unsafeNumbers: boolean } | ProtocolError {
  const blocks: Block[] = []
  const deletes = new Map<number, Array<[number, number]>>()
  let scan: UpdateScan
  try {
    scan = scanUpdate(
      u,
      (client, clock, end, structs) => blocks.push({ client, clock, end, structs }),
      (client, clock, len) => {
        let list = deletes.get(client)
        if (list === undefined) deletes.set(client, (list = []))
        list.push([clock, len])
      },
    )
  } catch (err) {
    if (err instanceof ProtocolError && err.closeCode === 1007 && err.reason === 'invalid-update') return err
    throw err // anything else is a bug in the scanner
  }
  const runs: Block[] = []
  for (const b of blocks) {
    if (b.structs === 0) continue
    const last = runs[runs.length - 1]
    if (last !== undefined && Object.is(last.client, b.client) && Object.is(last.end, b.clock)) {
      last.end = b.end
      last.structs += b.structs
    } else runs.push({ ...b })
  }
  const { end, unsafeNumbers, ...rest } = scan
  return {
    summary: { scan: { ...rest, clients: -1 }, unsafe: false, runs, deletes: [...deletes].filter(([, l]) => l.length > 0), kinds: new Map() },
    end,
    blocks: blocks.length,
    unsafeNumbers,
  }
}

const decodes = (u: Uint8Array) => {
  try {
    Y.decodeUpdate(u)
    return true
  } catch {
    return false
  }
}

/**
 * One differential check; returns whether Yjs accepted. The `end` offset is checked against Yjs
 * too: Yjs accepts the update cut at `end` (the rest is ignored) but not one byte shorter.
 */
function check(u: Uint8Array, label: string): boolean {
  const want = reference(u)
  const got = scanned(u)
  if (want === null) {
    if (!(got instanceof ProtocolError)) expect.fail(`${label}: Yjs throws, scanUpdate accepts [${hex(u)}]`)
    return false
  }
  if (got instanceof ProtocolError) expect.fail(`${label}: Yjs accepts, scanUpdate throws ${got.message} [${hex(u)}]`)
  const same =
    JSON.stringify(got.summary.scan) === JSON.stringify(want.scan) &&
    sameBlocks(got.summary.runs, want.runs) &&
    sameDeletes(got.summary.deletes, want.deletes)
  if (!same) {
    expect.fail(
      `${label}: summaries differ [${hex(u)}]\nscan ${show(got.summary)}\nyjs  ${show(want)}`,
    )
  }
  if (!decodes(u.subarray(0, got.end)) || decodes(u.subarray(0, got.end - 1))) expect.fail(`${label}: end ${got.end} is not where Yjs stops [${hex(u)}]`)
  if (want.unsafe && !got.unsafeNumbers) expect.fail(`${label}: Yjs decoded a number that is not a safe integer, unsafeNumbers is false [${hex(u)}]`)
  return true
}

const sameNumber = (a: number, b: number) => Object.is(a, b)
const sameBlocks = (a: Block[], b: Block[]) =>
  a.length === b.length &&
  a.every((x, i) => sameNumber(x.client, b[i]!.client) && sameNumber(x.clock, b[i]!.clock) && sameNumber(x.end, b[i]!.end) && x.structs === b[i]!.structs)
const sameDeletes = (a: Summary['deletes'], b: Summary['deletes']) =>
  a.length === b.length &&
  a.every(
    ([client, list], i) =>
      sameNumber(client, b[i]![0]) &&
      list.length === b[i]![1].length &&
      list.every(([c, l], j) => sameNumber(c, b[i]![1][j]![0]) && sameNumber(l, b[i]![1][j]![1])),
  )
const show = (s: Summary) =>
  JSON.stringify({ ...s.scan, runs: s.runs.map((r) => [r.client, r.clock, r.end, r.structs].map(String)), deletes: s.deletes.map(([c, l]) => [String(c), l.map((x) => x.map(String))]) })
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex')

// ---------------------------------------------------------------------------------------------
// Real Yjs activity.

/** A deterministic PRNG, so a failure names a reproducible case. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const ANY_VALUES: unknown[] = [
  0, 1, -1, 63, 64, -64, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0.5, -2.25, 0.1, 1e300, -0, NaN, Infinity,
  12345678901234567890n, -5n, { big: 2n ** 63n - 1n, neg: [-5n] }, true, false, null, undefined, '', 'plain', 'ünïcödé 日本語 🎉', '\u0000\uFEFF\u2028',
  new Uint8Array([]), new Uint8Array([0, 1, 127, 128, 255]),
  [], {}, [1, [2, [3, [4, []]]]], { a: { b: { c: { d: {} } } }, e: [null, undefined, true], f: new Uint8Array([9]) },
  { ['__proto__']: 1, '': '', 'ключ': [1.5, 'v'] },
  [{ constructor: 'x' }], // (a top-level value is typed by its constructor, so this one goes in an array)
  Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i % 3 === 0 ? [i] : i])),
]

/** A Y.Doc's updates, recorded as they happen. */
function recorded(opts?: ConstructorParameters<typeof Y.Doc>[0]) {
  const doc = new Y.Doc(opts)
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  return { doc, updates }
}

/** Hand-built v1 updates (ContentJSON is only ever decoded by Yjs 13, never written for new content). */
function handUpdate(write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder()
  write(e)
  return encoding.toUint8Array(e)
}
/** one client block of one root-parented item: [1 block][1 struct][client][clock][info][parent = key] then content, then [0 ds clients] */
const rootItem = (client: number, info: number, key: string, content: (e: encoding.Encoder) => void, tail = [0]) =>
  handUpdate((e) => {
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, 0)
    encoding.writeUint8(e, info)
    encoding.writeVarUint(e, 1)
    encoding.writeVarString(e, key)
    content(e)
    for (const x of tail) encoding.writeUint8(e, x)
  })
const jsonItem = (entries: string[]) =>
  rootItem(77, 2, 'j', (e) => {
    encoding.writeVarUint(e, entries.length)
    for (const s of entries) encoding.writeVarString(e, s)
  })

function realUpdates(): Uint8Array[] {
  const out: Uint8Array[] = []
  const next = rng(1302)

  // Typing into Y.Text, code point by code point, with edits, formatting and embeds.
  {
    const { doc, updates } = recorded()
    const t = doc.getText('t')
    for (const ch of 'Hello, wörld! 日本語 🎉🎉 \uFEFF\u0000 tab\there') t.insert(t.length, ch)
    t.insert(3, 'INSERTED')
    t.delete(1, 4)
    t.format(0, 5, { bold: true })
    t.format(2, 6, { link: { href: 'https://example.com/?q="x"', rel: ['a', 'b'] } })
    t.format(0, 3, { bold: null })
    t.insertEmbed(4, { image: 'x.png', size: [10, 20] })
    t.insertEmbed(0, 'plain-embed')
    t.insert(2, 'fmt', { italic: true, color: '#f00' })
    t.applyDelta([{ retain: 3 }, { delete: 2 }, { insert: 'Δ', attributes: { code: true } }])
    out.push(...updates, Y.encodeStateAsUpdate(doc), Y.mergeUpdates(updates))
    // Updates that leave a gap merge with a Skip struct.
    out.push(Y.mergeUpdates([updates[0]!, updates[5]!, updates[9]!]))
    out.push(Y.mergeUpdates([updates[2]!, updates[updates.length - 1]!]))
  }

  // Y.Map and Y.Array with every kind of value, nested types and binary.
  {
    const { doc, updates } = recorded()
    const m = doc.getMap('m')
    const a = doc.getArray('a')
    ANY_VALUES.forEach((v, i) => m.set(`k${i}`, v))
    a.insert(0, ANY_VALUES.filter((v) => v !== undefined && typeof v !== 'bigint')) // Y.Array takes neither at the top
    a.push([new Uint8Array([1, 2, 3])])
    const inner = new Y.Map()
    m.set('inner', inner)
    inner.set('x', [1, 2])
    const arr = new Y.Array()
    inner.set('arr', arr)
    arr.push([new Y.Text('nested text'), new Y.Map(), new Y.Array(), new Y.XmlFragment()])
    m.set('k0', 'overwritten')
    m.delete('k1')
    a.delete(2, 5)
    m.set('', 'empty key')
    m.set('日本', 'key with UTF-8')
    out.push(...updates, Y.encodeStateAsUpdate(doc), Y.mergeUpdates(updates))
  }

  // XML: fragments, elements with attributes, text with formatting and embeds, hooks.
  {
    const { doc, updates } = recorded()
    const frag = doc.getXmlFragment('prosemirror')
    const p = new Y.XmlElement('paragraph')
    const hook = new Y.XmlHook('mention')
    frag.insert(0, [p, new Y.XmlElement('heading'), hook as unknown as Y.XmlElement]) // (Yjs's types leave hooks out)
    p.setAttribute('align', 'center')
    p.setAttribute('data', { n: 1 } as unknown as string)
    const xt = new Y.XmlText()
    p.insert(0, [xt])
    xt.insert(0, 'some bold text', { bold: {} })
    xt.insertEmbed(3, { formula: 'e=mc^2' })
    xt.format(0, 4, { em: true })
    hook.set('user', 'ann')
    frag.insert(1, [new Y.XmlText('plain')])
    frag.delete(0, 1)
    out.push(...updates, Y.encodeStateAsUpdate(doc))
  }

  // Subdocuments with options.
  {
    const { doc, updates } = recorded()
    const m = doc.getMap('docs')
    m.set('plain', new Y.Doc())
    m.set('auto', new Y.Doc({ autoLoad: true, meta: { title: 'x', tags: ['a'] } }))
    m.set('nogc', new Y.Doc({ gc: false, guid: 'fixed-guid-ü' }))
    doc.getArray('list').push([new Y.Doc({ meta: 42 })])
    m.delete('plain')
    out.push(...updates, Y.encodeStateAsUpdate(doc))
  }

  // Garbage collection: deleted content, deleted types (their children become GC structs), gc off.
  for (const gc of [true, false]) {
    const { doc, updates } = recorded({ gc })
    const t = doc.getText('t')
    t.insert(0, 'a'.repeat(50))
    t.delete(10, 30)
    const m = doc.getMap('m')
    const sub = new Y.Map()
    m.set('sub', sub)
    sub.set('a', 'x')
    sub.set('b', new Y.Array())
    const arr = doc.getArray('arr')
    arr.insert(0, [1, 2, 3, new Y.Text('gone')])
    m.delete('sub')
    arr.delete(0, 4)
    out.push(...updates, Y.encodeStateAsUpdate(doc), Y.encodeStateAsUpdate(doc, Y.encodeStateVector(doc)))
  }

  // Several clients editing concurrently, syncing by state vectors; deletes only; empty updates.
  {
    const docs = [recorded(), recorded(), recorded()]
    for (let round = 0; round < 40; round++) {
      const { doc } = docs[round % 3]!
      const t = doc.getText('shared')
      const pos = Math.floor(next() * (t.length + 1))
      if (t.length > 5 && next() < 0.3) t.delete(Math.floor(next() * (t.length - 3)), 2)
      else t.insert(pos, `r${round} `)
      if (next() < 0.3) doc.getMap('m').set(`c${round % 4}`, round)
      if (round % 7 === 6) {
        for (const x of docs) for (const y of docs) if (x !== y) Y.applyUpdate(y.doc, Y.encodeStateAsUpdate(x.doc, Y.encodeStateVector(y.doc)))
      }
    }
    const all = docs.flatMap((d) => d.updates)
    out.push(...all, Y.mergeUpdates(all), Y.encodeStateAsUpdate(docs[0]!.doc))
    out.push(Y.encodeStateAsUpdate(docs[1]!.doc, Y.encodeStateVector(docs[2]!.doc)))
    out.push(Y.diffUpdate(Y.mergeUpdates(all), Y.encodeStateVector(docs[2]!.doc)))
    out.push(Y.encodeStateAsUpdate(docs[0]!.doc, Y.encodeStateVector(docs[0]!.doc))) // nothing new
    out.push(Y.encodeStateAsUpdate(new Y.Doc()))
  }

  // ContentJSON (legacy), hand-built, and as Yjs re-encodes it.
  {
    const json = jsonItem(['{"a":1}', 'undefined', '[1,2,{"b":null}]', ' "s" ', '-0.5e+3'])
    const doc = new Y.Doc()
    Y.applyUpdate(doc, json)
    doc.getArray('j').insert(1, ['after'])
    out.push(json, Y.encodeStateAsUpdate(doc))
  }
  return out
}

const corpus = realUpdates()

describe('scanUpdate on real Yjs updates', () => {
  it('agrees with Y.decodeUpdate on every update of the corpus, which covers every struct and content kind', () => {
    const kinds = new Map<string, number>()
    for (const [i, u] of corpus.entries()) {
      expect(check(u, `corpus ${i}`)).toBe(true)
      for (const [k, n] of reference(u)!.kinds) kinds.set(k, (kinds.get(k) ?? 0) + n)
      // Yjs writes one block per client, so here blocks are also the distinct clients.
      const got = scanned(u) as Exclude<ReturnType<typeof scanned>, ProtocolError>
      expect(got.blocks).toBe(new Set(reference(u)!.runs.map((r) => r.client)).size)
      expect(got.end).toBe(u.length)
      expect(got.unsafeNumbers).toBe(false)
    }
    expect([...kinds.keys()].sort()).toEqual(
      [
        'GC', 'Skip', 'ContentDeleted', 'ContentJSON', 'ContentBinary', 'ContentString', 'ContentEmbed', 'ContentFormat', 'ContentAny', 'ContentDoc',
        'ContentType:YArray', 'ContentType:YMap', 'ContentType:YText', 'ContentType:YXmlElement', 'ContentType:YXmlFragment', 'ContentType:YXmlHook', 'ContentType:YXmlText',
      ].sort(),
    )
  })

  it('reports the blocks, ranges and deletes of a multi-client update', () => {
    const a = new Y.Doc()
    a.clientID = 1
    const b = new Y.Doc()
    b.clientID = 2 ** 32 - 1
    a.getText('t').insert(0, 'abc😀') // 5 UTF-16 units
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
    b.getText('t').insert(0, 'xy')
    b.getText('t').delete(3, 2) // 'b', 'c' of client 1
    const u = Y.encodeStateAsUpdate(b)
    const blocks: number[][] = []
    const deletes: number[][] = []
    const scan = scanUpdate(u, (...x) => blocks.push(x), (...x) => deletes.push(x))
    // explicit parent: only 'a' (the split-off rest has 'a' as origin; 'xy' has 'a' as rightOrigin)
    expect(scan).toEqual({ structs: 4, items: 4, types: 0, subdocs: 0, explicitParents: 1, deleteRanges: 1, clients: 2, hasContent: true, unsafeNumbers: false, end: u.length })
    expect(blocks).toEqual([
      [2 ** 32 - 1, 0, 2, 1],
      [1, 0, 5, 3],
    ])
    expect(deletes).toEqual([[1, 1, 2]])
  })

  it('agrees on a large document state', () => {
    const { doc } = recorded()
    const next = rng(7)
    const t = doc.getText('t')
    for (let i = 0; i < 3000; i++) {
      const pos = Math.floor(next() * (t.length + 1))
      if (t.length > 20 && next() < 0.2) t.delete(pos > 10 ? pos - 10 : 0, 5)
      else t.insert(pos, `word${i} `, next() < 0.1 ? { bold: true } : undefined)
    }
    const u = Y.encodeStateAsUpdate(doc)
    expect(u.length).toBeGreaterThan(20_000)
    expect(check(u, 'large state')).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------
// Mutations.

/** Bytes worth writing: varint edges, info bytes, content refs, lib0 any tags, UTF-8 and JSON edges. */
const INTERESTING = [
  0x00, 0x01, 0x02, 0x0a, 0x7f, 0x80, 0x81, 0xff, 0x20, 0x40, 0x60, 0xc0, 0xe0, 0x4a, 0x2a, 0x8a,
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 31].flatMap((r) => [r, r | 0x20, r | 0x40, r | 0x80]),
  ...Array.from({ length: 12 }, (_, i) => 116 + i),
  0xc2, 0xdf, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xa0, 0x9f, 0x90, 0x8f, 0xbf,
  ...new TextEncoder().encode('{}[]",:\\ undefined'),
]

function mutate(src: Uint8Array, next: () => number, donors: Uint8Array[]): Uint8Array {
  const out = [...src]
  const pick = () => (next() < 0.6 ? INTERESTING[Math.floor(next() * INTERESTING.length)]! : Math.floor(next() * 256))
  const edits = 1 + Math.floor(next() * 3)
  for (let k = 0; k < edits; k++) {
    const at = Math.floor(next() * (out.length + 1))
    const r = next()
    if (r < 0.2) out[Math.min(at, out.length - 1)] = pick()
    else if (r < 0.35) out[Math.min(at, out.length - 1)]! ^= 1 << Math.floor(next() * 8)
    else if (r < 0.5) out.splice(at, 0, ...Array.from({ length: 1 + Math.floor(next() * 3) }, pick))
    else if (r < 0.62) out.splice(at, 1 + Math.floor(next() * 3))
    else if (r < 0.7) out.length = at // truncation
    else if (r < 0.85) {
      // varint extension: x -> x|0x80, 0x80..., 0x00 keeps a varint's value (lib0 accepts the padding);
      // now and then long enough to overflow lib0's arithmetic to Infinity or NaN
      const i = Math.min(at, out.length - 1)
      if (i >= 0 && out[i]! < 0x80) {
        const pad = next() < 0.1 ? 140 + Math.floor(next() * 40) : Math.floor(next() * 3)
        out.splice(i, 1, out[i]! | 0x80, ...new Array<number>(pad).fill(0x80), 0)
      }
    } else if (r < 0.93) {
      // a slice of another update
      const d = donors[Math.floor(next() * donors.length)]!
      const from = Math.floor(next() * d.length)
      out.splice(at, 0, ...d.subarray(from, from + 1 + Math.floor(next() * 12)))
    } else {
      // a slice of this one, repeated
      const from = Math.floor(next() * out.length)
      out.splice(at, 0, ...out.slice(from, from + 1 + Math.floor(next() * 8)))
    }
  }
  return new Uint8Array(out)
}

/** how many mutations: 200,000 by default (about 10 s here); UPDATE_SCAN_MUTATIONS=2000000 for a long run */
const MUTATIONS = Number(process.env['UPDATE_SCAN_MUTATIONS'] ?? 200_000)
const SEED = Number(process.env['UPDATE_SCAN_SEED'] ?? 20260311)

describe('scanUpdate on mutated updates', () => {
  it(`throws iff Y.decodeUpdate throws, and agrees when both accept, on ${MUTATIONS} mutations (seed ${SEED})`, () => {
    const small = corpus.filter((u) => u.length <= 1500)
    expect(small.length).toBeGreaterThan(100)
    const next = rng(SEED)
    let accepted = 0
    for (let n = 0; n < MUTATIONS; n++) {
      const src = small[n % small.length]!
      const u = mutate(src, next, small)
      if (check(u, `mutation ${n} (seed ${SEED})`)) accepted++
    }
    // Both outcomes must be well represented, or the comparison proves little.
    expect(accepted).toBeGreaterThan(MUTATIONS * 0.1)
    expect(accepted).toBeLessThan(MUTATIONS * 0.9)
  }, 120_000)

  // Values are a small part of an update's bytes: mutate them alone, inside a valid frame.
  it('agrees on 40,000 mutated JSON texts (ContentJSON, ContentEmbed, ContentFormat) and lib0 any values (ContentAny, ContentDoc options)', () => {
    const next = rng(SEED + 1)
    const utf8 = (s: string) => new TextEncoder().encode(s)
    const jsonSamples = [
      '{"user":{"name":"Ann","color":"#e91e63"},"list":[1,-0,0.5,1e10,-2.5E-3,true,false,null]}',
      '[1,"a\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00",[],{}]',
      ' \t\r\n{"ü":"日本語 🎉","nested":[[[[{"k":[]}]]]]} ',
      '"just a string"',
      'undefined',
      '0',
    ].map(utf8)
    const anySamples = ANY_VALUES.map((v) => {
      const e = encoding.createEncoder()
      encoding.writeAny(e, v as Parameters<typeof encoding.writeAny>[1])
      return encoding.toUint8Array(e)
    })
    let accepted = 0
    for (let n = 0; n < 40_000; n++) {
      if (n % 2 === 0) {
        const text = mutate(jsonSamples[n % jsonSamples.length]!, next, jsonSamples)
        const withLength = (e: encoding.Encoder) => encoding.writeVarUint8Array(e, text)
        const u = [
          rootItem(5, 2, 'j', (e) => (encoding.writeVarUint(e, 1), withLength(e))),
          rootItem(5, 5, 'e', withLength),
          rootItem(5, 6, 'f', (e) => (encoding.writeVarString(e, 'k'), withLength(e))),
        ][n % 3]!
        if (check(u, `JSON mutation ${n} ${JSON.stringify(Buffer.from(text).toString('latin1'))}`)) accepted++
      } else {
        const value = mutate(anySamples[n % anySamples.length]!, next, anySamples)
        const u =
          n % 3 === 0
            ? rootItem(5, 9, 'd', (e) => (encoding.writeVarString(e, 'guid'), encoding.writeUint8Array(e, value)))
            : rootItem(5, 8, 'a', (e) => (encoding.writeVarUint(e, 1), encoding.writeUint8Array(e, value)))
        if (check(u, `any mutation ${n}`)) accepted++
      }
    }
    expect(accepted).toBeGreaterThan(4_000)
    expect(accepted).toBeLessThan(36_000)
  }, 60_000)
})

// ---------------------------------------------------------------------------------------------
// What lib0 and Yjs accept that one might not expect, pinned.

describe('scanUpdate on lib0 / Yjs decoding quirks', () => {
  const both = (u: Uint8Array) => {
    check(u, hex(u))
    return reference(u) !== null
  }
  const gcUpdate = (...info: number[]) => new Uint8Array([1, info.length, 5, 0, ...info.flatMap((i) => [i, 1]), 0])

  it('a struct whose info has content ref 0 is a GC whatever its upper bits; only exactly 10 is a Skip', () => {
    expect(both(gcUpdate(0, 0x20, 0x40, 0x80, 0xe0))).toBe(true)
    expect(scanUpdate(gcUpdate(0x20, 0xe0, 10))).toMatchObject({ structs: 3, items: 0 })
    expect(both(gcUpdate(10))).toBe(true)
    // ref 10 with upper bits is an Item with no content kind: Y.decodeUpdate throws
    // (Y.applyUpdate's reader would take it as a Skip: it switches on info & 31)
    expect(both(new Uint8Array([1, 1, 5, 0, 0x4a, 1, 0, 0, 0]))).toBe(false)
    expect(both(rootItem(5, 11, 'k', () => {}))).toBe(false)
  })

  it('varints: any number of 0x80 padding bytes; past 2^53 on the last byte; Infinity and NaN', () => {
    // clock = 1 written with padding
    expect(both(new Uint8Array([1, 1, 5, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0, 1, 0]))).toBe(true)
    const blocks: number[][] = []
    // clock = 2^56 (8 bytes of 0x80 then 0x01: lib0 checks the range only after a continuation byte)
    const big = new Uint8Array([1, 1, 5, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 1, 0])
    expect(both(big)).toBe(true)
    scanUpdate(big, (...x) => blocks.push(x))
    expect(blocks).toEqual([[5, 2 ** 56, 2 ** 56, 1]]) // 2^56 + 1 is 2^56 in doubles
    // a varint with a continuation byte past 2^53 throws
    expect(both(new Uint8Array([1, 1, 5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 1, 0]))).toBe(false)
    // 0x80 x 200 then 0x00: 0 * 128^200 = 0 * Infinity = NaN: a NaN clock, accepted
    const nanClock = new Uint8Array([1, 1, 5, ...new Array<number>(200).fill(0x80), 0x00, 0, 1, 0])
    expect(both(nanClock)).toBe(true)
    blocks.length = 0
    scanUpdate(nanClock, (...x) => blocks.push(x))
    expect(blocks).toEqual([[5, NaN, NaN, 1]])
    // 0x80 x 147 then 0x01: 1 * 128^147 = Infinity (one more 0x80 would add 0 * Infinity = NaN)
    const infClock = new Uint8Array([1, 1, 5, ...new Array<number>(147).fill(0x80), 0x01, 0, 1, 0])
    expect(both(infClock)).toBe(true)
    blocks.length = 0
    scanUpdate(infClock, (...x) => blocks.push(x))
    expect(blocks).toEqual([[5, Infinity, Infinity, 1]])
    // a NaN count reads nothing (i < NaN is false): a NaN client count is an empty struct section
    expect(both(new Uint8Array([...new Array<number>(200).fill(0x80), 0x00, 0]))).toBe(true)
    expect(scanUpdate(new Uint8Array([...new Array<number>(200).fill(0x80), 0x00, 0]))).toMatchObject({ clients: 0, structs: 0, hasContent: false })
    // ... and a NaN delete count adds no range: no content
    expect(scanUpdate(new Uint8Array([0, 1, 5, ...new Array<number>(200).fill(0x80), 0x00]))).toMatchObject({ deleteRanges: 0, hasContent: false })
    // a NaN byte length: lib0 lets it through, its position becomes NaN, and the next varint throws
    expect(both(rootItem(5, 3, 'b', (e) => encoding.writeUint8Array(e, new Uint8Array([...new Array<number>(200).fill(0x80), 0]))))).toBe(false)
  })

  it('varUint and varInt agree at every length around the 2^53 check, Infinity and NaN', () => {
    // A varint: `len - 1` bytes of `fill` (with the continuation bit), then `last`, then 0x00 if `last` continues.
    const varint = (len: number, fill: number, last: number) => [...new Array<number>(len - 1).fill(fill | 0x80), last, ...(last >= 0x80 ? [0] : [])]
    for (const len of [1, 2, 6, 7, 8, 9, 10, 145, 146, 147, 148, 149]) {
      for (const fill of [0x80, 0xff, 0xc0, 0x81]) {
        for (let last = 0; last < 256; last++) {
          const v = varint(len, fill, last)
          check(new Uint8Array([1, 1, 5, ...v, 0, 1, 0]), `clock ${hex(new Uint8Array(v))}`) // varUint: a block's first clock
          check(rootItem(5, 8, 'a', (e) => encoding.writeUint8Array(e, new Uint8Array([1, 125, ...v]))), `int ${hex(new Uint8Array(v))}`) // varInt: an any integer
        }
      }
    }
  })

  it('unsafeNumbers: set by every varint that is not a safe integer, wherever it is, and by clocks past 2^53 - 1', () => {
    const nan = [...new Array<number>(200).fill(0x80), 0x00]
    const big = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01] // 2^56
    const high = [...handUpdate((e) => encoding.writeVarUint(e, Number.MAX_SAFE_INTEGER - 127))] // 2^53 - 128
    const unsafe = (u: number[] | Uint8Array) => {
      const b = new Uint8Array(u)
      expect(decodes(b)).toBe(true)
      return scanUpdate(b).unsafeNumbers
    }
    expect(unsafe([1, 1, 5, 0, 0, 1, 0])).toBe(false)
    expect(unsafe([...nan, 0])).toBe(true) // client block count (Yjs reads no block)
    expect(unsafe([1, ...nan, 5, 0, 0])).toBe(true) // struct count (Yjs reads no struct; Y.applyUpdate throws)
    expect(unsafe([1, 1, ...big, 0, 0, 1, 0])).toBe(true) // client
    expect(unsafe([1, 1, 5, 0, 0, ...big, 0])).toBe(true) // GC length
    expect(unsafe([1, 1, 5, ...high, 0, 0x7f, 0])).toBe(false) // from clock 2^53 - 128, a GC of 127: ends at 2^53 - 1
    expect(unsafe([1, 2, 5, ...high, 0, 0x7f, 0, 1, 0])).toBe(true) // ... and a GC of 1 more: ends at 2^53
    expect(unsafe([1, 1, 5, 0, 0x84, 0, ...big, 1, 0x61, 0])).toBe(true) // an origin's clock (item with origin, ContentString 'a')
    expect(unsafe([1, 1, 5, 0, 0x04, 2, ...big, 0, 1, 0x61, 0])).toBe(true) // a parent ID's client
    expect(unsafe(rootItem(5, 8, 'a', (e) => encoding.writeUint8Array(e, new Uint8Array(nan))))).toBe(true) // ContentAny count
    expect(unsafe(rootItem(5, 8, 'a', (e) => encoding.writeUint8Array(e, new Uint8Array([1, 117, ...nan]))))).toBe(true) // an array's count in a value
    expect(unsafe(rootItem(5, 8, 'a', (e) => encoding.writeUint8Array(e, new Uint8Array([1, 125, 0xbf, ...big]))))).toBe(true) // an integer value (varInt)
    expect(unsafe(rootItem(5, 8, 'a', (e) => encoding.writeUint8Array(e, new Uint8Array([1, 125, 0xff, 0x7f]))))).toBe(false) // -8191
    expect(unsafe([0, 1, 5, 1, ...big, 1])).toBe(true) // a delete range's clock
    expect(unsafe([0, 1, 5, 1, ...high, 0x7f])).toBe(false) // a delete range ending at 2^53 - 1
    expect(unsafe([0, 1, 5, 1, ...high, 0x80, 0x01])).toBe(true) // ... at 2^53
    expect(unsafe([0, 1, 5, ...nan])).toBe(true) // a delete range count
  })

  it('a NaN-length ContentJSON / ContentAny is an item of length 0', () => {
    const nan = [...new Array<number>(200).fill(0x80), 0]
    const u = rootItem(5, 8, 'a', (e) => encoding.writeUint8Array(e, new Uint8Array(nan)))
    expect(both(u)).toBe(true)
    const blocks: number[][] = []
    expect(scanUpdate(u, (...x) => blocks.push(x)).items).toBe(1)
    expect(blocks).toEqual([[5, 0, 0, 1]])
    expect(both(rootItem(5, 2, 'j', (e) => encoding.writeUint8Array(e, new Uint8Array(nan))))).toBe(true)
  })

  it('trailing bytes after the delete set are ignored, as Yjs ignores them, and reported by `end`', () => {
    const u = new Uint8Array([...Y.encodeStateAsUpdate(docWith('x')), 0xff, 0xff, 0x00])
    expect(both(u)).toBe(true)
    expect(scanUpdate(u).end).toBe(u.length - 3)
  })

  it('strings are fatal UTF-8: invalid sequences and surrogates throw, a BOM and NUL are characters', () => {
    const str = (bytes: number[]) => rootItem(5, 4, 't', (e) => encoding.writeVarUint8Array(e, new Uint8Array(bytes)))
    expect(both(str([0xef, 0xbb, 0xbf, 0x00, 0x61]))).toBe(true)
    expect(both(str([0xf0, 0x9f, 0x98, 0x80]))).toBe(true) // 😀: 2 UTF-16 units
    for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80]]) expect(both(str(bad))).toBe(false)
    // keys, type names and guids are strings too
    expect(both(rootItem(5, 4, '\uD800', (e) => encoding.writeVarString(e, 'x')))).toBe(true) // lib0 writes U+FFFD for a lone surrogate
    expect(both(new Uint8Array([1, 1, 5, 0, 4, 1, 1, 0xff, 1, 0x61, 0]))).toBe(false) // a root type name of 0xff
  })

  it('every 1- and 2-byte string agrees (UTF-8 validity and UTF-16 length)', () => {
    const str = (bytes: number[]) => new Uint8Array([1, 1, 5, 0, 4, 1, 1, 0x74, bytes.length, ...bytes, 0])
    for (let a = 0; a < 256; a++) {
      check(str([a]), `[${a}]`)
      for (let c = 0; c < 256; c++) check(str([a, c]), `[${a},${c}]`)
    }
    const edges = [0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0]
    for (let a = 0xe0; a <= 0xff; a++) for (const c of edges) for (const d of edges) {
      check(str([a, c, d]), `[${a},${c},${d}]`)
      for (const f of edges) check(str([a, c, d, f]), `[${a},${c},${d},${f}]`)
    }
  })

  it('JSON content is what JSON.parse accepts; only ContentJSON takes "undefined"', () => {
    const texts = ['{"a":1}', ' [1, 2.5e-3, "\\u00e9\\n"] ', 'undefined', 'undefine', '', '{', '[1,]', '01', '\uFEFF1', 'null', 'true ', '"\\x"', '1e400', '{"__proto__":{}}']
    for (const s of texts) {
      both(jsonItem([s]))
      both(rootItem(5, 5, 'e', (e) => encoding.writeVarString(e, s))) // ContentEmbed
      both(rootItem(5, 6, 'f', (e) => (encoding.writeVarString(e, 'bold'), encoding.writeVarString(e, s)))) // ContentFormat
    }
    expect(both(jsonItem(['undefined']))).toBe(true)
    expect(both(rootItem(5, 5, 'e', (e) => encoding.writeVarString(e, 'undefined')))).toBe(false)
  })

  it('subdocument options must not be null or undefined (Yjs reads opts.shouldLoad); anything else goes', () => {
    const subdoc = (opts: number[]) => rootItem(5, 9, 'd', (e) => (encoding.writeVarString(e, 'guid'), encoding.writeUint8Array(e, new Uint8Array(opts))))
    expect(both(subdoc([127]))).toBe(false)
    expect(both(subdoc([126]))).toBe(false)
    for (const ok of [[118, 0], [117, 0], [125, 1], [121], [120], [119, 1, 0x61], [116, 0], [124, 0, 0, 0, 0], [122, 0, 0, 0, 0, 0, 0, 0, 1]]) expect(both(subdoc(ok))).toBe(true)
    // null and undefined inside the options are fine
    expect(both(subdoc([118, 1, 1, 0x61, 126]))).toBe(true)
  })

  it('type refs 0-6 only; XmlElement and XmlHook carry a name', () => {
    for (let ref = 0; ref < 9; ref++) {
      both(rootItem(5, 7, 'x', (e) => encoding.writeVarUint(e, ref)))
      both(rootItem(5, 7, 'x', (e) => (encoding.writeVarUint(e, ref), encoding.writeVarString(e, 'p'))))
    }
    expect(both(rootItem(5, 7, 'x', (e) => encoding.writeVarUint(e, 3)))).toBe(false) // the name is missing
  })

  it('lengths that point past the end of a view into a larger buffer throw (pooled Node buffers)', () => {
    const inner = rootItem(5, 3, 'b', (e) => encoding.writeVarUint8Array(e, new Uint8Array(3)))
    const backing = new Uint8Array(inner.length + 64).fill(0)
    backing.set(inner, 10)
    const view = backing.subarray(10, 10 + inner.length - 3) // cut inside the binary, more zeros after it in the buffer
    expect(() => scanUpdate(view)).toThrow(ProtocolError)
    expect(decodes(view)).toBe(false)
    expect(scanUpdate(backing.subarray(10, 10 + inner.length)).end).toBe(inner.length)
  })
})

describe(`nested values: Yjs's limit is the call stack, scanUpdate's is MAX_VALUE_DEPTH (${MAX_VALUE_DEPTH})`, () => {
  const anyNested = (depth: number, inner: number[] = []) =>
    rootItem(5, 8, 'a', (e) => {
      encoding.writeVarUint(e, 1)
      for (let i = 0; i < depth; i++) encoding.writeUint8Array(e, new Uint8Array(i === depth - 1 ? [117, inner.length > 0 ? 1 : 0] : [117, 1]))
      encoding.writeUint8Array(e, new Uint8Array(inner))
    })
  const jsonNested = (depth: number) => rootItem(5, 5, 'e', (e) => encoding.writeVarString(e, '['.repeat(depth) + ']'.repeat(depth)))
  const objectNested = (depth: number) => rootItem(5, 6, 'f', (e) => (encoding.writeVarString(e, 'k'), encoding.writeVarString(e, '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1))))

  it('accepts nesting up to the limit, as Yjs does', () => {
    for (const u of [anyNested(MAX_VALUE_DEPTH), anyNested(MAX_VALUE_DEPTH - 1, [126]), jsonNested(MAX_VALUE_DEPTH), objectNested(MAX_VALUE_DEPTH)]) {
      expect(decodes(u)).toBe(true)
      expect(scanUpdate(u).items).toBe(1)
    }
  })

  it('refuses one level more, which Yjs still decodes: deliberately stricter', () => {
    for (const u of [anyNested(MAX_VALUE_DEPTH + 1), anyNested(MAX_VALUE_DEPTH + 1, [126]), jsonNested(MAX_VALUE_DEPTH + 1), objectNested(MAX_VALUE_DEPTH + 1)]) {
      expect(decodes(u)).toBe(true)
      expect(() => scanUpdate(u)).toThrow(ProtocolError)
    }
  })

  it('refuses what overflows the stack in Yjs (readAny) or when Yjs re-encodes it (JSON.stringify)', () => {
    expect(decodes(anyNested(100_000))).toBe(false)
    expect(() => scanUpdate(anyNested(100_000))).toThrow(ProtocolError)
    const deepJson = jsonNested(100_000)
    const doc = new Y.Doc()
    Y.applyUpdate(doc, deepJson) // JSON.parse does not recurse...
    expect(() => Y.encodeStateAsUpdate(doc)).toThrow(RangeError) // ...JSON.stringify does: the document cannot be encoded any more
    expect(() => scanUpdate(deepJson)).toThrow(ProtocolError)
  })
})

function docWith(s: string) {
  const d = new Y.Doc()
  d.getText('t').insert(0, s)
  return d
}
