/**
 * Hostile payloads for SyncProvider's hostile-input tests: awareness updates written byte by
 * byte (clocks past 2^53, states nested 30,000 deep, not UTF-8) and a Yjs update Yjs throws on.
 */
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'

/** lib0 varUint bytes of any non-negative integer, also past 2^53 (which lib0's writer cannot). */
function varUint(n: number | bigint): number[] {
  let v = BigInt(n)
  const out: number[] = []
  while (v > 127n) {
    out.push(Number(v & 127n) | 128)
    v >>= 7n
  }
  out.push(Number(v))
  return out
}

function concat(parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

export interface RawEntry {
  id: number | bigint
  clock: number | bigint
  /** JSON text, or raw bytes (e.g. not UTF-8) */
  state: string | Uint8Array
}

/** An awareness update written byte by byte, so it can say what y-protocols' writer never would. */
export function awarenessUpdate(entries: RawEntry[]): Uint8Array {
  const parts: ArrayLike<number>[] = [varUint(entries.length)]
  for (const e of entries) {
    const state = typeof e.state === 'string' ? new TextEncoder().encode(e.state) : e.state
    parts.push(varUint(e.id), varUint(e.clock), varUint(state.length), state)
  }
  return concat(parts)
}

export const deepArray = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth)
export const deepObject = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)

/**
 * A v1 update creating Y.Maps nested `depth` deep under root map 'root' (each the 'k' entry of
 * the one above), and deleting the outermost. Written directly: building it through Yjs takes
 * O(depth²). Applying it recurses once per level (Item.delete, then Item.gc): a RangeError at
 * 10,000 levels, after which Yjs never finishes that transaction in a doc with gc on.
 */
function deepTypeThenDeleted(depth: number, client = 424242): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 1) // clients with structs
  encoding.writeVarUint(e, depth) // structs
  encoding.writeVarUint(e, client)
  encoding.writeVarUint(e, 0) // first clock
  for (let i = 0; i < depth; i++) {
    encoding.writeUint8(e, 7 | 32) // ContentType, has parentSub, no origins: parent info follows
    if (i === 0) {
      encoding.writeVarUint(e, 1) // parent is a root type, by name
      encoding.writeVarString(e, 'root')
    } else {
      encoding.writeVarUint(e, 0) // parent is an item, by id
      encoding.writeVarUint(e, client)
      encoding.writeVarUint(e, i - 1)
    }
    encoding.writeVarString(e, 'k')
    encoding.writeVarUint(e, 1) // YMap
  }
  encoding.writeVarUint(e, 1) // delete set: one client, one range [0, 1)
  encoding.writeVarUint(e, client)
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, 0)
  encoding.writeVarUint(e, 1)
  return encoding.toUint8Array(e)
}

export const HOSTILE_UPDATE = deepTypeThenDeleted(10_000)

export function textUpdate(s: string, client?: number): Uint8Array {
  const doc = new Y.Doc()
  if (client !== undefined) doc.clientID = client
  doc.getText('t').insert(0, s)
  return Y.encodeStateAsUpdate(doc)
}

export const state = (json: string): string => json
export const NOT_UTF8 = new Uint8Array([0x22, 0xff, 0xfe, 0x22]) // "\xff\xfe"
