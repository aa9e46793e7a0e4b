import * as Y from 'yjs'
import { CloseCode, ProtocolError } from '@tandem/sync'

type Struct = Y.Item | Y.GC | Y.Skip

/** Unknown: the parent is not in the document yet (the item will wait as a pending struct). */
const UNKNOWN = -1

/**
 * Refuses an update that would nest shared types (a Y.Array in a Y.Map in a Y.XmlElement …)
 * deeper than `max` levels below a root type, BEFORE it is applied.
 *
 * Why: Yjs deletes and garbage-collects a type by recursing into its children, so deleting the
 * outer element of a structure nested ~10,000 deep overflows the stack inside Y.applyUpdate.
 * Once such an update is stored, every later write to the room fails the same way: the room is
 * bricked for good. Editors recurse over the tree too (rendering, toJSON). Real documents nest a
 * few dozen levels at most (lists in quotes in tables), so a generous bound costs nothing.
 *
 * The parent of a new item is resolved the way Yjs resolves it on integration: its explicit
 * parent (a root name or the ID of a type item), else the parent of its left origin, else of its
 * right origin, each found in this update or in `doc`. Iterative throughout: a hostile chain of
 * 100,000 origins must not overflow the stack of the check itself.
 */
export function checkNesting(doc: Y.Doc, structs: readonly Struct[], max: number): void {
  const index = indexByClient(structs)
  const memo = new Map<Y.Item, number>() // item of the update → level of its parent type
  for (const s of structs) {
    if (!(s instanceof Y.Item) || !(s.content instanceof Y.ContentType)) continue
    const parentLevel = resolveParentLevel(s, doc, index, memo, max)
    if (parentLevel !== UNKNOWN && parentLevel + 1 > max) {
      throw new ProtocolError(`shared types nested deeper than ${max} levels`, CloseCode.InvalidPayload, 'too-deep')
    }
  }
}

/** The level of a type already in the document: 0 for a root type, +1 per enclosing type. */
function typeLevel(type: Y.AbstractType<unknown>, max: number): number {
  let level = 0
  let t: Y.AbstractType<unknown> = type
  while (t._item !== null && level <= max) {
    level++
    t = t._item.parent as Y.AbstractType<unknown>
  }
  return level
}

/** The deepest nesting in a whole document (an iterative walk over its types). */
export function docDepth(doc: Y.Doc, max: number): number {
  let deepest = 0
  const stack: Array<[Y.AbstractType<unknown>, number]> = []
  for (const type of doc.share.values()) stack.push([type as Y.AbstractType<unknown>, 0])
  while (stack.length) {
    const [type, level] = stack.pop()!
    if (level > deepest) deepest = level
    if (deepest > max) return deepest
    for (let item = type._start; item !== null; item = item.right) pushChild(item, level, stack)
    for (const item of type._map.values()) pushChild(item, level, stack)
  }
  return deepest
}

function pushChild(item: Y.Item, level: number, stack: Array<[Y.AbstractType<unknown>, number]>): void {
  if (!item.deleted && item.content instanceof Y.ContentType) stack.push([item.content.type, level + 1])
}

type Index = Map<number, Struct[]>

function indexByClient(structs: readonly Struct[]): Index {
  const index: Index = new Map()
  for (const s of structs) {
    let list = index.get(s.id.client)
    if (!list) index.set(s.id.client, (list = []))
    list.push(s)
  }
  for (const list of index.values()) list.sort((a, b) => a.id.clock - b.id.clock)
  return index
}

function findInUpdate(index: Index, id: Y.ID): Struct | undefined {
  const list = index.get(id.client)
  if (!list) return undefined
  let lo = 0
  let hi = list.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const s = list[mid]!
    if (s.id.clock <= id.clock) {
      if (id.clock < s.id.clock + s.length) return s
      lo = mid + 1
    } else hi = mid - 1
  }
  return undefined
}

function findInDoc(doc: Y.Doc, id: Y.ID): Y.Item | Y.GC | undefined {
  if (id.clock >= Y.getState(doc.store, id.client)) return undefined
  return Y.getItem(doc.store, id) // typed Item, but a collected range gives a GC struct
}

/** One step of resolution: a final level, or another item of the update to follow. */
type Step = { level: number } | { via: Y.Item; child: boolean }

function step(item: Y.Item, doc: Y.Doc, index: Index, max: number): Step {
  const parent = item.parent as unknown
  if (typeof parent === 'string') return { level: 0 }
  if (parent instanceof Y.ID) return follow(parent, doc, index, max, true)
  if (item.origin) return follow(item.origin, doc, index, max, false)
  if (item.rightOrigin) return follow(item.rightOrigin, doc, index, max, false)
  return { level: UNKNOWN }
}

/** `child`: the ID names the parent type's item (level + 1); otherwise a sibling (same parent). */
function follow(id: Y.ID, doc: Y.Doc, index: Index, max: number, child: boolean): Step {
  const inUpdate = findInUpdate(index, id)
  if (inUpdate) {
    if (!(inUpdate instanceof Y.Item)) return { level: UNKNOWN }
    if (child && !(inUpdate.content instanceof Y.ContentType)) return { level: UNKNOWN }
    return { via: inUpdate, child }
  }
  const inDoc = findInDoc(doc, id)
  if (!(inDoc instanceof Y.Item)) return { level: UNKNOWN }
  if (child) {
    return inDoc.content instanceof Y.ContentType ? { level: typeLevel(inDoc.content.type, max) } : { level: UNKNOWN }
  }
  return inDoc.parent ? { level: typeLevel(inDoc.parent as Y.AbstractType<unknown>, max) } : { level: UNKNOWN }
}

function resolveParentLevel(start: Y.Item, doc: Y.Doc, index: Index, memo: Map<Y.Item, number>, max: number): number {
  const path: Array<{ item: Y.Item; child: boolean }> = []
  const onPath = new Set<Y.Item>()
  let item = start
  let level: number
  for (;;) {
    const known = memo.get(item)
    if (known !== undefined) {
      level = known
      break
    }
    if (onPath.has(item)) {
      level = UNKNOWN // a cycle of origins: Yjs cannot integrate it either
      break
    }
    onPath.add(item)
    const s = step(item, doc, index, max)
    if ('level' in s) {
      memo.set(item, s.level)
      level = s.level
      break
    }
    path.push({ item, child: s.child })
    item = s.via
  }
  // Unwind: each item's parent level follows from the one it pointed at.
  for (let i = path.length - 1; i >= 0; i--) {
    const { item: it, child } = path[i]!
    if (level !== UNKNOWN && child) level = Math.min(level + 1, max + 1)
    memo.set(it, level)
  }
  return memo.get(start) ?? level
}
