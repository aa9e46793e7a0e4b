import * as encoding from 'lib0/encoding'

/**
 * A hand-written encoder for the Yjs v1 update format (what `Y.encodeStateAsUpdate` writes and
 * `Y.decodeUpdate` reads), for shapes Yjs itself never produces: references to clients and clocks
 * nobody has, delete sets on ranges that do not exist, clocks next to 2^53, runs of GC and Skip
 * structs, nesting thousands of levels deep. Every byte sequence built here decodes with
 * `Y.decodeUpdate` (the server's first check passes): the hostility is in what the update says.
 *
 * Layout (yjs/src/utils/encoding.js, UpdateEncoderV1):
 *   update    = varUint(#clients) client* deleteSet
 *   client    = varUint(#structs) varUint(client) varUint(firstClock) struct*
 *   struct    = GC:   info 0,  varUint(len)
 *             | Skip: info 10, varUint(len)
 *             | Item: info (contentRef | 0x80 origin | 0x40 rightOrigin | 0x20 parentSub),
 *                     [origin id] [rightOrigin id]
 *                     [if neither: varUint(1) varString(rootKey) | varUint(0) parent id, [varString(parentSub)]]
 *                     content
 *   id        = varUint(client) varUint(clock)
 *   deleteSet = varUint(#clients) (varUint(client) varUint(#ranges) (varUint(clock) varUint(len))*)*
 */

export interface ID {
  client: number
  clock: number
}

type Parent = { root: string } | { item: ID }

/** Type refs of ContentType (yjs/src/structs/ContentType.js). */
export const TypeRef = { Array: 0, Map: 1, Text: 2, XmlElement: 3, XmlFragment: 4, XmlHook: 5, XmlText: 6 } as const
export type TypeRef = (typeof TypeRef)[keyof typeof TypeRef]

export type Content =
  | { kind: 'deleted'; len: number }
  | { kind: 'json'; values: string[] }
  | { kind: 'binary'; bytes: Uint8Array }
  | { kind: 'string'; str: string }
  | { kind: 'embed'; json: string }
  | { kind: 'format'; key: string; json: string }
  | { kind: 'type'; typeRef: TypeRef; name?: string }
  | { kind: 'any'; values: unknown[] }
  | { kind: 'doc'; guid: string; opts: Record<string, unknown> }

export type Struct =
  | { kind: 'gc'; len: number }
  | { kind: 'skip'; len: number }
  | { kind: 'item'; origin?: ID; rightOrigin?: ID; parent?: Parent; parentSub?: string; content: Content }

export interface ClientRun {
  client: number
  clock: number
  structs: Struct[]
}

export type DeleteSet = Array<{ client: number; ranges: Array<readonly [clock: number, len: number]> }>

export interface Update {
  clients: ClientRun[]
  ds: DeleteSet
}

const CONTENT_REF: Record<Content['kind'], number> = {
  deleted: 1,
  json: 2,
  binary: 3,
  string: 4,
  embed: 5,
  format: 6,
  type: 7,
  any: 8,
  doc: 9,
}

function writeId(e: encoding.Encoder, id: ID): void {
  encoding.writeVarUint(e, id.client)
  encoding.writeVarUint(e, id.clock)
}

function writeContent(e: encoding.Encoder, c: Content): void {
  switch (c.kind) {
    case 'deleted':
      encoding.writeVarUint(e, c.len)
      return
    case 'json':
      encoding.writeVarUint(e, c.values.length)
      for (const v of c.values) encoding.writeVarString(e, v)
      return
    case 'binary':
      encoding.writeVarUint8Array(e, c.bytes)
      return
    case 'string':
      encoding.writeVarString(e, c.str)
      return
    case 'embed':
      encoding.writeVarString(e, c.json)
      return
    case 'format':
      encoding.writeVarString(e, c.key)
      encoding.writeVarString(e, c.json)
      return
    case 'type':
      encoding.writeVarUint(e, c.typeRef)
      if (c.typeRef === TypeRef.XmlElement || c.typeRef === TypeRef.XmlHook) encoding.writeVarString(e, c.name ?? 'p')
      return
    case 'any':
      encoding.writeVarUint(e, c.values.length)
      for (const v of c.values) encoding.writeAny(e, v as never)
      return
    case 'doc':
      encoding.writeVarString(e, c.guid)
      encoding.writeAny(e, c.opts as never)
      return
  }
}

function writeStruct(e: encoding.Encoder, s: Struct): void {
  if (s.kind === 'gc') {
    encoding.writeUint8(e, 0)
    encoding.writeVarUint(e, s.len)
    return
  }
  if (s.kind === 'skip') {
    encoding.writeUint8(e, 10)
    encoding.writeVarUint(e, s.len)
    return
  }
  const hasParentInfo = !s.origin && !s.rightOrigin
  const info =
    CONTENT_REF[s.content.kind] | (s.origin ? 0x80 : 0) | (s.rightOrigin ? 0x40 : 0) | (hasParentInfo && s.parentSub !== undefined ? 0x20 : 0)
  encoding.writeUint8(e, info)
  if (s.origin) writeId(e, s.origin)
  if (s.rightOrigin) writeId(e, s.rightOrigin)
  if (hasParentInfo) {
    const parent = s.parent ?? { root: 't' }
    if ('root' in parent) {
      encoding.writeVarUint(e, 1)
      encoding.writeVarString(e, parent.root)
    } else {
      encoding.writeVarUint(e, 0)
      writeId(e, parent.item)
    }
    if (s.parentSub !== undefined) encoding.writeVarString(e, s.parentSub)
  }
  writeContent(e, s.content)
}

function writeDeleteSet(e: encoding.Encoder, ds: DeleteSet): void {
  encoding.writeVarUint(e, ds.length)
  for (const { client, ranges } of ds) {
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, ranges.length)
    for (const [clock, len] of ranges) {
      encoding.writeVarUint(e, clock)
      encoding.writeVarUint(e, len)
    }
  }
}

export function encodeUpdate(u: Update): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, u.clients.length)
  for (const run of u.clients) {
    encoding.writeVarUint(e, run.structs.length)
    encoding.writeVarUint(e, run.client)
    encoding.writeVarUint(e, run.clock)
    for (const s of run.structs) writeStruct(e, s)
  }
  writeDeleteSet(e, u.ds)
  return encoding.toUint8Array(e)
}

// ---------------------------------------------------------------------------------------------
// Large shapes, written straight to the encoder (no array of a million descriptor objects).

export type Container = 'array' | 'map' | 'xml' | 'fragment'

const containerContent = (c: Container): Content =>
  c === 'array'
    ? { kind: 'type', typeRef: TypeRef.Array }
    : c === 'map'
      ? { kind: 'type', typeRef: TypeRef.Map }
      : c === 'xml'
        ? { kind: 'type', typeRef: TypeRef.XmlElement, name: 'div' }
        : { kind: 'type', typeRef: TypeRef.XmlFragment }

/**
 * Shared types nested `depth` levels deep, one client, clocks 0..depth-1: level 0 sits in the
 * root type `root`, level i in level i-1 (under key "k" when level i-1 is a map). `containers`
 * cycles over the levels (e.g. ['array'] for Y.Array in Y.Array in …). 7 bytes a level for
 * arrays with a 2-byte client id: ~70 KB for 10,000 levels.
 */
export function deepNesting(opts: { client: number; depth: number; root?: string; containers?: readonly Container[]; clock?: number }): Uint8Array {
  const { client, depth, root = 'a', containers = ['array'], clock = 0 } = opts
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, depth)
  encoding.writeVarUint(e, client)
  encoding.writeVarUint(e, clock)
  for (let i = 0; i < depth; i++) {
    const here = containers[i % containers.length]!
    const parentKind = i === 0 ? undefined : containers[(i - 1) % containers.length]!
    writeStruct(e, {
      kind: 'item',
      parent: i === 0 ? { root } : { item: { client, clock: clock + i - 1 } },
      parentSub: parentKind === 'map' ? 'k' : undefined,
      content: containerContent(here),
    })
  }
  encoding.writeVarUint(e, 0)
  return encoding.toUint8Array(e)
}

/** A delete-only update: `ranges` of `client` (7 bytes for one short range of a 2-byte client id). */
export function deleteOnly(client: number, ranges: Array<readonly [number, number]>): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 0)
  writeDeleteSet(e, [{ client, ranges }])
  return encoding.toUint8Array(e)
}

/**
 * A delete set naming disjoint 1-long ranges (clocks 0, 2, 4, …) of `client` until the update is
 * about `bytes` long. On a client the document never saw, none of it can be applied: Yjs keeps
 * it as the doc's pending delete set and re-reads it on every later update.
 */
export function bigDeleteSet(client: number, bytes: number, firstClock = 0): Uint8Array {
  const clocks: number[] = []
  let size = 0
  for (let clock = firstClock; size < bytes; clock += 2) {
    clocks.push(clock)
    size += varUintSize(clock) + 1
  }
  return deleteOnly(
    client,
    clocks.map((c) => [c, 1] as const),
  )
}

/** `n` GC structs of length 1 (2 bytes each) for one client from `clock`: Yjs makes one object per struct while reading. */
export function tinyGcRun(client: number, n: number, clock = 0): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, n)
  encoding.writeVarUint(e, client)
  encoding.writeVarUint(e, clock)
  for (let i = 0; i < n; i++) {
    encoding.writeUint8(e, 0)
    encoding.writeVarUint(e, 1)
  }
  encoding.writeVarUint(e, 0)
  return encoding.toUint8Array(e)
}

/**
 * `n` map entries under distinct keys (they never merge: one struct each in the document),
 * one client, from `clock`, in root map `root`. ~12 bytes each.
 */
export function manyMapEntries(client: number, n: number, clock = 0, root = 'm'): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, n)
  encoding.writeVarUint(e, client)
  encoding.writeVarUint(e, clock)
  for (let i = 0; i < n; i++) {
    writeStruct(e, { kind: 'item', parent: { root }, parentSub: `k${clock + i}`, content: { kind: 'any', values: [i & 0x7f] } })
  }
  encoding.writeVarUint(e, 0)
  return encoding.toUint8Array(e)
}

function varUintSize(n: number): number {
  let size = 1
  while (n >= 128) {
    n = Math.floor(n / 128)
    size++
  }
  return size
}
