import fc from 'fast-check'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { writeAwareness, writeSyncStep2, writeSyncUpdate } from '@tandem/sync'
import {
  bigDeleteSet,
  deepNesting,
  encodeUpdate,
  manyMapEntries,
  tinyGcRun,
  TypeRef,
  type ClientRun,
  type Container,
  type Content,
  type DeleteSet,
  type ID,
  type Struct,
} from './v1.js'

/**
 * Structure-aware generators of hostile input for a Tandem room: Yjs v1 updates and awareness
 * updates that DECODE (they pass `Y.decodeUpdate` / the frame reader, so they reach the server's
 * admission path) but have the shapes that hurt a Y.Doc: nesting hundreds to tens of thousands
 * of levels deep, items and deletions depending on clients or clocks nobody has (pending structs
 * and delete sets), clocks next to 2^53, runs of GC and Skip structs, a million 2-byte structs,
 * clients referring to each other (in cycles too), subdocuments, root types by the thousand; and
 * awareness with clocks 2^53−1 / 2^53−2, JSON 30,000 levels deep, thousands of client ids per
 * connection, claims of ids another connection holds, null states.
 *
 * The arbitraries produce small, printable DESCRIPTORS (what fast-check shows and shrinks);
 * `encodeAction` turns one into the frames to send. Shapes Yjs can produce are made by Yjs
 * (Y.Doc activity, then surgery with Y.diffUpdate / Y.encodeStateAsUpdate and a state vector);
 * the others are written by hand with lib0 (v1.ts).
 */

// ---------------------------------------------------------------------------------------------
// Shared pools: a few client ids and clocks, so actions of one run refer to each other (an item
// referring to client 2 clock 5 in one frame, client 2's structs in a later one).

const MAX_SAFE = Number.MAX_SAFE_INTEGER // 2^53 − 1

const clientArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(1, 2, 3, 1000) },
  { weight: 1, arbitrary: fc.constantFrom(0, 0x7fffffff, 2 ** 32 - 1, 2 ** 32, MAX_SAFE - 1, MAX_SAFE) },
)
const smallClock = fc.integer({ min: 0, max: 60 })
const hugeClock = fc.integer({ min: 1, max: 5000 }).map((k) => MAX_SAFE - k)
const clockArb = fc.oneof({ weight: 6, arbitrary: smallClock }, { weight: 1, arbitrary: fc.constantFrom(2 ** 31, 2 ** 32) }, { weight: 2, arbitrary: hugeClock })
const idArb: fc.Arbitrary<ID> = fc.record({ client: clientArb, clock: clockArb })
const rootArb = fc.constantFrom('a', 'm', 't', 'x')
const containerArb: fc.Arbitrary<Container> = fc.constantFrom('array', 'map', 'xml', 'fragment')

// ---------------------------------------------------------------------------------------------
// Update shapes

type UpdateShape =
  /** shared types nested `depth` deep; `del` also deletes one level (in the same update, or as a second frame) */
  | { kind: 'deep'; client: number; depth: number; containers: Container[]; root: string; del: 'none' | 'outer-same-update' | 'outer-next-frame' | 'middle-next-frame' }
  /** a chain of items whose origin / right origin / parent are (possibly) missing ids */
  | { kind: 'refs'; client: number; clock: number; items: Array<{ via: 'origin' | 'rightOrigin' | 'parent' | 'both'; target: ID; content: ContentShape }> }
  /** a delete set: a few explicit ranges, or a big run of disjoint ranges on one client */
  | { kind: 'ds'; ranges: Array<{ client: number; clock: number; len: number }> }
  | { kind: 'bigDs'; client: number; bytes: number; firstClock: number }
  /** GC and Skip runs (Skip = "something missing here") from any clock */
  | { kind: 'gcSkip'; client: number; clock: number; runs: Array<{ skip: boolean; len: number }> }
  /** n GC structs of length 1: 2 bytes each, an object each when Yjs reads them */
  | { kind: 'tinyGc'; client: number; clock: number; n: number }
  /** n map entries under distinct keys: structs that never merge */
  | { kind: 'mapEntries'; client: number; clock: number; n: number }
  /** several clients whose items refer to each other's, in order or in a cycle */
  | { kind: 'interleaved'; clients: number[]; perClient: number; cycle: boolean }
  /** subdocuments: ContentDoc items (the server's Y.Doc makes a Y.Doc for each) */
  | { kind: 'subdocs'; client: number; n: number; guid: 'same' | 'distinct' | 'empty'; opts: 'none' | 'load' | 'meta' }
  /** n root types with distinct names (each one lives in doc.share for good) */
  | { kind: 'rootKeys'; client: number; n: number }
  /** one client's run of small items with every content kind, some of them odd */
  | { kind: 'contents'; client: number; clock: number; contents: ContentShape[] }
  /** real Y.Doc activity, then surgery */
  | { kind: 'yjs'; client: number; ops: YOp[]; surgery: 'none' | 'drop-prefix' | 'reverse-frames' | 'delete-only' | 'merged' }

type ContentShape =
  | { c: 'string'; s: string }
  | { c: 'deleted'; len: number }
  | { c: 'json'; values: string[] }
  | { c: 'any'; values: unknown[] }
  | { c: 'binary'; size: number }
  | { c: 'embed'; json: string }
  | { c: 'format'; key: string; json: string }
  | { c: 'type'; typeRef: TypeRef }
  | { c: 'doc'; guid: string }

type YOp =
  | { op: 'insert'; pos: number; s: string }
  | { op: 'delete'; pos: number; len: number }
  | { op: 'mapSet'; key: string; v: 'number' | 'string' | 'map' | 'array' | 'xml' | 'subdoc' }
  | { op: 'mapDelete'; key: string }
  | { op: 'arrayPush'; n: number }
  | { op: 'arrayDelete'; pos: number; len: number }
  | { op: 'xml'; depth: number }

const deepJsonText = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)

const contentArb: fc.Arbitrary<ContentShape> = fc.oneof(
  fc.record({ c: fc.constant('string' as const), s: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('\ud800', '\udfff', 'a\u0000b', '😀')) }),
  fc.record({ c: fc.constant('deleted' as const), len: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(2 ** 31, 2 ** 52, MAX_SAFE - 1)) }),
  fc.record({ c: fc.constant('json' as const), values: fc.array(fc.constantFrom('1', '"s"', 'undefined', 'null', '{"a":[1,2]}', deepJsonText(200), '{not json'), { minLength: 1, maxLength: 3 }) }),
  fc.record({ c: fc.constant('any' as const), values: fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null), fc.constant({ a: [1, { b: 2 }] }), fc.double()), { minLength: 1, maxLength: 4 }) }),
  fc.record({ c: fc.constant('binary' as const), size: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constant(100_000)) }),
  fc.record({ c: fc.constant('embed' as const), json: fc.constantFrom('{"image":"x"}', '[]', '1', deepJsonText(300)) }),
  fc.record({ c: fc.constant('format' as const), key: fc.constantFrom('bold', '', 'x'.repeat(300)), json: fc.constantFrom('true', 'null', '{"a":1}') }),
  fc.record({ c: fc.constant('type' as const), typeRef: fc.constantFrom(...(Object.values(TypeRef) as TypeRef[])) }),
  fc.record({ c: fc.constant('doc' as const), guid: fc.constantFrom('sub', '', 'g'.repeat(100)) }),
)

function content(c: ContentShape): Content {
  switch (c.c) {
    case 'string':
      return { kind: 'string', str: c.s.length ? c.s : 'x' }
    case 'deleted':
      return { kind: 'deleted', len: c.len }
    case 'json':
      return { kind: 'json', values: c.values }
    case 'any':
      return { kind: 'any', values: c.values }
    case 'binary':
      return { kind: 'binary', bytes: new Uint8Array(c.size).fill(7) }
    case 'embed':
      return { kind: 'embed', json: c.json }
    case 'format':
      return { kind: 'format', key: c.key, json: c.json }
    case 'type':
      return { kind: 'type', typeRef: c.typeRef, name: 'el' }
    case 'doc':
      return { kind: 'doc', guid: c.guid, opts: {} }
  }
}

const yOpArb: fc.Arbitrary<YOp> = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), pos: fc.nat(50), s: fc.string({ minLength: 1, maxLength: 30 }) }),
  fc.record({ op: fc.constant('delete' as const), pos: fc.nat(50), len: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ op: fc.constant('mapSet' as const), key: fc.constantFrom('a', 'b', 'c', ''), v: fc.constantFrom('number', 'string', 'map', 'array', 'xml', 'subdoc') }),
  fc.record({ op: fc.constant('mapDelete' as const), key: fc.constantFrom('a', 'b', 'c', '') }),
  fc.record({ op: fc.constant('arrayPush' as const), n: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ op: fc.constant('arrayDelete' as const), pos: fc.nat(40), len: fc.integer({ min: 1, max: 10 }) }),
  fc.record({ op: fc.constant('xml' as const), depth: fc.integer({ min: 1, max: 200 }) }),
)

const updateShapeArb: fc.Arbitrary<UpdateShape> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('deep' as const),
      client: clientArb,
      depth: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 200 }) }, { weight: 2, arbitrary: fc.integer({ min: 200, max: 3000 }) }, { weight: 1, arbitrary: fc.constantFrom(10_000, 20_000) }),
      containers: fc.array(containerArb, { minLength: 1, maxLength: 3 }),
      root: rootArb,
      del: fc.constantFrom('none', 'outer-same-update', 'outer-next-frame', 'middle-next-frame'),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('refs' as const),
      client: clientArb,
      clock: clockArb,
      items: fc.array(fc.record({ via: fc.constantFrom('origin', 'rightOrigin', 'parent', 'both'), target: idArb, content: contentArb }), { minLength: 1, maxLength: 20 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('ds' as const),
      ranges: fc.array(fc.record({ client: clientArb, clock: clockArb, len: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constantFrom(2 ** 32, MAX_SAFE)) }), { minLength: 1, maxLength: 40 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('bigDs' as const),
      client: clientArb,
      bytes: fc.oneof(fc.integer({ min: 1_000, max: 200_000 }), fc.constantFrom(900_000, 1_500_000)),
      firstClock: fc.oneof(fc.constant(0), fc.constant(2 ** 40)),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('gcSkip' as const),
      client: clientArb,
      clock: clockArb,
      runs: fc.array(fc.record({ skip: fc.boolean(), len: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(2 ** 40, 2 ** 52)) }), { minLength: 1, maxLength: 200 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('tinyGc' as const),
      client: clientArb,
      clock: fc.oneof(fc.constant(0), smallClock, hugeClock),
      n: fc.oneof(fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 5_000, max: 60_000 }), fc.constant(300_000)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('mapEntries' as const),
      client: clientArb,
      clock: fc.oneof(fc.constant(0), smallClock),
      n: fc.oneof(fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 5_000, max: 40_000 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('interleaved' as const),
      clients: fc.uniqueArray(clientArb, { minLength: 2, maxLength: 5 }),
      perClient: fc.integer({ min: 1, max: 30 }),
      cycle: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('subdocs' as const),
      client: clientArb,
      n: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 100, max: 2000 })),
      guid: fc.constantFrom('same', 'distinct', 'empty'),
      opts: fc.constantFrom('none', 'load', 'meta'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rootKeys' as const), client: clientArb, n: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1000, max: 5000 })) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('contents' as const), client: clientArb, clock: clockArb, contents: fc.array(contentArb, { minLength: 1, maxLength: 12 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('yjs' as const),
      client: clientArb.filter((c) => c > 0 && c < 2 ** 32),
      ops: fc.array(yOpArb, { minLength: 1, maxLength: 15 }),
      surgery: fc.constantFrom('none', 'drop-prefix', 'reverse-frames', 'delete-only', 'merged'),
    }),
  },
)

/** The updates a shape stands for, in the order to send them (most shapes: one). */
function encodeUpdateShape(shape: UpdateShape): Uint8Array[] {
  switch (shape.kind) {
    case 'deep': {
      const { client, depth, containers, root } = shape
      const nest = deepNesting({ client, depth, containers, root, clock: 0 })
      const delOuter = encodeUpdate({ clients: [], ds: [{ client, ranges: [[0, 1]] }] })
      switch (shape.del) {
        case 'none':
          return [nest]
        case 'outer-same-update':
          return [Y.mergeUpdates([nest, delOuter])]
        case 'outer-next-frame':
          return [nest, delOuter]
        case 'middle-next-frame':
          return [nest, encodeUpdate({ clients: [], ds: [{ client, ranges: [[Math.floor(depth / 2), 1]] }] })]
      }
      break
    }
    case 'refs': {
      const structs: Struct[] = shape.items.map((it) => {
        const c = content(it.content)
        if (it.via === 'origin') return { kind: 'item', origin: it.target, content: c }
        if (it.via === 'rightOrigin') return { kind: 'item', rightOrigin: it.target, content: c }
        if (it.via === 'both') return { kind: 'item', origin: it.target, rightOrigin: { client: it.target.client, clock: it.target.clock + 1 }, content: c }
        return { kind: 'item', parent: { item: it.target }, content: c }
      })
      return [encodeUpdate({ clients: [{ client: shape.client, clock: shape.clock, structs }], ds: [] })]
    }
    case 'ds': {
      const byClient = new Map<number, Array<readonly [number, number]>>()
      for (const r of shape.ranges) {
        const list = byClient.get(r.client) ?? []
        list.push([r.clock, r.len])
        byClient.set(r.client, list)
      }
      const ds: DeleteSet = [...byClient].map(([client, ranges]) => ({ client, ranges }))
      return [encodeUpdate({ clients: [], ds })]
    }
    case 'bigDs':
      return [bigDeleteSet(shape.client, shape.bytes, shape.firstClock)]
    case 'gcSkip': {
      const structs: Struct[] = shape.runs.map((r) => ({ kind: r.skip ? 'skip' : 'gc', len: r.len }))
      return [encodeUpdate({ clients: [{ client: shape.client, clock: shape.clock, structs }], ds: [] })]
    }
    case 'tinyGc':
      return [tinyGcRun(shape.client, shape.n, shape.clock)]
    case 'mapEntries':
      return [manyMapEntries(shape.client, shape.n, shape.clock)]
    case 'interleaved':
      return [interleaved(shape.clients, shape.perClient, shape.cycle)]
    case 'subdocs': {
      const structs: Struct[] = []
      for (let i = 0; i < shape.n; i++) {
        const guid = shape.guid === 'same' ? 'sub' : shape.guid === 'empty' ? '' : `sub-${i}`
        const opts = shape.opts === 'none' ? {} : shape.opts === 'load' ? { shouldLoad: true, autoLoad: true } : { meta: { a: [1, { b: 'x'.repeat(100) }] } }
        structs.push({ kind: 'item', parent: { root: 'subdocs' }, parentSub: `d${i}`, content: { kind: 'doc', guid, opts } })
      }
      return [encodeUpdate({ clients: [{ client: shape.client, clock: 0, structs }], ds: [] })]
    }
    case 'rootKeys': {
      const structs: Struct[] = []
      for (let i = 0; i < shape.n; i++) structs.push({ kind: 'item', parent: { root: `root-${i}` }, parentSub: 'k', content: { kind: 'any', values: [i] } })
      return [encodeUpdate({ clients: [{ client: shape.client, clock: 0, structs }], ds: [] })]
    }
    case 'contents': {
      const structs: Struct[] = shape.contents.map((c, i) =>
        i === 0 ? { kind: 'item', parent: { root: 'x' }, content: content(c) } : { kind: 'item', parent: { root: 'x' }, parentSub: `c${i}`, content: content(c) },
      )
      return [encodeUpdate({ clients: [{ client: shape.client, clock: shape.clock, structs }], ds: [] })]
    }
    case 'yjs':
      return yjsActivity(shape.client, shape.ops, shape.surgery)
  }
}

/** Items of several clients in one update, each chained onto the previous client's item (in a cycle: onto the next's). */
function interleaved(clients: number[], perClient: number, cycle: boolean): Uint8Array {
  const runs: ClientRun[] = clients.map((client) => ({ client, clock: 0, structs: [] }))
  for (let i = 0; i < perClient; i++) {
    runs.forEach((run, k) => {
      const other = clients[cycle ? (k + 1) % clients.length : (k + clients.length - 1) % clients.length]!
      const first = !cycle && k === 0 && i === 0
      run.structs.push(
        first
          ? { kind: 'item', parent: { root: 't' }, content: { kind: 'string', str: 'a' } }
          : { kind: 'item', origin: { client: other, clock: cycle ? i : k === 0 ? i - 1 : i }, content: { kind: 'string', str: String.fromCharCode(97 + (k % 26)) } },
      )
    })
  }
  return encodeUpdate({ clients: runs, ds: [] })
}

/** Y.Doc activity (text, map, array, nested types, XML, subdocs), then one surgery on its updates. */
function yjsActivity(client: number, ops: YOp[], surgery: 'none' | 'drop-prefix' | 'reverse-frames' | 'delete-only' | 'merged'): Uint8Array[] {
  const doc = new Y.Doc({ gc: true })
  doc.clientID = client
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  const text = doc.getText('t')
  const map = doc.getMap('m')
  const arr = doc.getArray<number>('a')
  let afterInserts: Uint8Array | undefined
  for (const o of ops) {
    switch (o.op) {
      case 'insert':
        text.insert(Math.min(o.pos, text.length), o.s)
        break
      case 'delete':
        if (text.length) text.delete(Math.min(o.pos, text.length - 1), Math.min(o.len, text.length - Math.min(o.pos, text.length - 1)))
        break
      case 'mapSet': {
        const v =
          o.v === 'number'
            ? 42
            : o.v === 'string'
              ? 'v'
              : o.v === 'map'
                ? new Y.Map()
                : o.v === 'array'
                  ? Y.Array.from([1, 2, 3])
                  : o.v === 'xml'
                    ? new Y.XmlElement('p')
                    : new Y.Doc()
        map.set(o.key, v)
        break
      }
      case 'mapDelete':
        map.delete(o.key)
        break
      case 'arrayPush':
        arr.push(Array.from({ length: o.n }, (_, i) => i))
        break
      case 'arrayDelete':
        if (arr.length) arr.delete(Math.min(o.pos, arr.length - 1), Math.min(o.len, arr.length - Math.min(o.pos, arr.length - 1)))
        break
      case 'xml': {
        doc.transact(() => {
          let el: Y.XmlFragment | Y.XmlElement = doc.getXmlFragment('default')
          for (let i = 0; i < o.depth; i++) {
            const child: Y.XmlElement = new Y.XmlElement('div')
            el.insert(0, [child])
            el = child
          }
          el.insert(0, [new Y.XmlText('leaf')])
        })
        break
      }
    }
    if (o.op === 'insert' || o.op === 'mapSet' || o.op === 'arrayPush' || o.op === 'xml') afterInserts = Y.encodeStateVector(doc)
  }
  if (updates.length === 0) return [Y.encodeStateAsUpdate(doc)]
  switch (surgery) {
    case 'none':
      return updates
    case 'merged':
      return [Y.mergeUpdates(updates)]
    case 'reverse-frames':
      // every update arrives, but in reverse order: the later ones are pending until the first
      return [...updates].reverse()
    case 'drop-prefix': {
      // Yjs's own diff against a state vector that claims half of this client's clocks: what is
      // left refers (as origins, parents) to structs the server will never get from this sender
      const clock = Y.getState(doc.store, client)
      const sv = encoding.createEncoder()
      encoding.writeVarUint(sv, 1)
      encoding.writeVarUint(sv, client)
      encoding.writeVarUint(sv, Math.floor(clock / 2))
      return [Y.diffUpdate(Y.encodeStateAsUpdate(doc), encoding.toUint8Array(sv))]
    }
    case 'delete-only':
      // only the deletions, without the insertions they delete: a pending delete set unless the room has them
      return [Y.encodeStateAsUpdate(doc, afterInserts ?? Y.encodeStateVector(doc))]
  }
}

// ---------------------------------------------------------------------------------------------
// Awareness shapes

type AwarenessId = number | 'resident' | 'fresh'
type AwarenessState = 'null' | 'small' | { deep: number } | { wide: number }

type AwarenessShape =
  | { kind: 'entries'; entries: Array<{ id: AwarenessId; clock: number; state: AwarenessState }> }
  /** many client ids in one frame, small states */
  | { kind: 'manyIds'; n: number; clock: number }

const awarenessClock = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 10 }) },
  { weight: 2, arbitrary: fc.constantFrom(MAX_SAFE - 1, MAX_SAFE) },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 31, 2 ** 32 + 1, MAX_SAFE - 2) },
)
const awarenessState: fc.Arbitrary<AwarenessState> = fc.oneof(
  { weight: 2, arbitrary: fc.constant('null' as const) },
  { weight: 4, arbitrary: fc.constant('small' as const) },
  // the state is {"user": <deep>}: one level more than `deep` (63 → 64, the most the server admits)
  { weight: 2, arbitrary: fc.record({ deep: fc.constantFrom(63, 64, 200, 1000, 30_000) }) },
  { weight: 1, arbitrary: fc.record({ wide: fc.constantFrom(1000, 60_000, 70_000, 300_000) }) },
)

const awarenessShapeArb: fc.Arbitrary<AwarenessShape> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('entries' as const),
      entries: fc.array(
        fc.record({ id: fc.oneof(fc.constantFrom<AwarenessId>('resident', 'fresh'), fc.constantFrom(1, 2, 3, 0, MAX_SAFE)), clock: awarenessClock, state: awarenessState }),
        { minLength: 1, maxLength: 6 },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('manyIds' as const), n: fc.constantFrom(50, 1000, 5000), clock: awarenessClock }) },
)

let freshId = 100_000
function stateJson(s: AwarenessState): string {
  if (s === 'null') return 'null'
  if (s === 'small') return JSON.stringify({ user: { name: 'fuzz', color: '#123456' } })
  if ('deep' in s) return `{"user":${'['.repeat(s.deep)}${']'.repeat(s.deep)}}`
  return JSON.stringify({ user: { name: 'w'.repeat(s.wide) } })
}

/** The awareness update of a shape; `resident` is the id a well-behaved client of that room holds. */
function encodeAwarenessShape(shape: AwarenessShape, resident: number): Uint8Array {
  const e = encoding.createEncoder()
  if (shape.kind === 'manyIds') {
    encoding.writeVarUint(e, shape.n)
    const state = stateJson('small')
    for (let i = 0; i < shape.n; i++) {
      encoding.writeVarUint(e, 500_000 + i)
      encoding.writeVarUint(e, shape.clock)
      encoding.writeVarString(e, state)
    }
    return encoding.toUint8Array(e)
  }
  encoding.writeVarUint(e, shape.entries.length)
  for (const en of shape.entries) {
    encoding.writeVarUint(e, en.id === 'resident' ? resident : en.id === 'fresh' ? freshId++ : en.id)
    encoding.writeVarUint(e, en.clock)
    encoding.writeVarString(e, stateJson(en.state))
  }
  return encoding.toUint8Array(e)
}

// ---------------------------------------------------------------------------------------------
// Actions: what one hostile connection sends

export type Action = {
  /** which of the run's rooms */
  room: number
  /** which of that room's hostile connections (a closed one is reopened: the attacker reconnects) */
  conn: number
  msg:
    | { t: 'update'; as: 'update' | 'step2'; shape: UpdateShape }
    | { t: 'awareness'; shape: AwarenessShape }
    | { t: 'step1'; sv: Array<{ client: number; clock: number }> }
}

export const ROOMS_PER_RUN = 3

export type MessageKind = Action['msg']['t']
export const MESSAGE_KINDS: readonly MessageKind[] = ['update', 'awareness', 'step1']

const messageArbs: Record<MessageKind, fc.WeightedArbitrary<Action['msg']>> = {
  update: { weight: 6, arbitrary: fc.record({ t: fc.constant('update' as const), as: fc.constantFrom('update' as const, 'step2' as const), shape: updateShapeArb }) },
  awareness: { weight: 3, arbitrary: fc.record({ t: fc.constant('awareness' as const), shape: awarenessShapeArb }) },
  step1: { weight: 1, arbitrary: fc.record({ t: fc.constant('step1' as const), sv: fc.array(fc.record({ client: clientArb, clock: clockArb }), { maxLength: 5 }) }) },
}

/** One action; `kinds` limits the message kinds (e.g. only updates while the presence defences live elsewhere). */
function actionArb(kinds: readonly MessageKind[] = MESSAGE_KINDS): fc.Arbitrary<Action> {
  return fc.record({
    room: fc.integer({ min: 0, max: ROOMS_PER_RUN - 1 }),
    conn: fc.integer({ min: 0, max: 1 }),
    msg: fc.oneof(...kinds.map((k) => messageArbs[k])),
  })
}

/** A run: a handful of actions spread over a few rooms. */
export const batchArb = (kinds: readonly MessageKind[] = MESSAGE_KINDS) => fc.array(actionArb(kinds), { minLength: 1, maxLength: 6 })

/** The frames of one action. */
export function encodeAction(a: Action, resident: number): Uint8Array[] {
  switch (a.msg.t) {
    case 'update': {
      const write = a.msg.as === 'update' ? writeSyncUpdate : writeSyncStep2
      return encodeUpdateShape(a.msg.shape).map(write)
    }
    case 'awareness':
      return [writeAwareness(encodeAwarenessShape(a.msg.shape, resident))]
    case 'step1': {
      const e = encoding.createEncoder()
      encoding.writeVarUint(e, 0)
      encoding.writeVarUint(e, 0)
      const sv = encoding.createEncoder()
      encoding.writeVarUint(sv, a.msg.sv.length)
      for (const { client, clock } of a.msg.sv) {
        encoding.writeVarUint(sv, client)
        encoding.writeVarUint(sv, clock)
      }
      encoding.writeVarUint8Array(e, encoding.toUint8Array(sv))
      return [encoding.toUint8Array(e)]
    }
  }
}
