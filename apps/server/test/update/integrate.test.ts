import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { ProtocolError } from '@tandem/sync'
import { IntegrationFailed, integrate, watchTransactions } from '../../src/update/integrate.js'
import { countStructs, inspectUpdate } from '../../src/update/inspect.js'
import { docDepth } from '../../src/update/nesting.js'
import { PendingBuffer } from '../../src/update/pending.js'
import { LOAD_ORIGIN } from '../../src/room/tx-origins.js'

const gated = () => {
  const doc = new Y.Doc()
  watchTransactions(doc)
  return doc
}

/** An update creating Y.Arrays nested `depth` levels below the root array 'a'. */
function nestedArrays(depth: number, firstChildIsType = true): Uint8Array {
  const doc = new Y.Doc()
  doc.transact(() => {
    let parent = doc.getArray<unknown>('a')
    for (let i = 0; i < depth; i++) {
      const child = new Y.Array<unknown>()
      // With a plain value first, the nested array's item has a left origin instead of an explicit parent.
      if (!firstChildIsType) parent.push(['x'])
      parent.push([child])
      parent = child
    }
  })
  return Y.encodeStateAsUpdate(doc)
}

const gate = (doc: Y.Doc, update: Uint8Array, max = 128) =>
  integrate(doc, update, LOAD_ORIGIN, { maxNestingDepth: max, hasTypes: inspectUpdate(update).types > 0 })

describe('update gate: nesting', () => {
  // Root cause: Yjs deletes and GCs types recursively, so deleting the outer element of a
  // structure nested ~10,000 deep overflows the stack inside Y.applyUpdate, forever, once stored.
  it('refuses an update nesting types past the bound before applying anything, by explicit parent or by origin', () => {
    for (const firstChildIsType of [true, false]) {
      const doc = gated()
      expect(() => gate(doc, nestedArrays(200, firstChildIsType))).toThrowError(ProtocolError)
      try {
        gate(doc, nestedArrays(200, firstChildIsType))
      } catch (err) {
        expect((err as ProtocolError).closeCode).toBe(1007)
        expect((err as ProtocolError).reason).toBe('too-deep')
      }
      expect(countStructs(doc)).toBe(0)
      // At the bound it passes, and the document is as deep as that.
      expect(gate(doc, nestedArrays(128, firstChildIsType)).pending).toBeUndefined()
      expect(docDepth(doc, 1000)).toBe(128)
    }
  })

  it('counts the depth of the document an update lands in, not only the update', () => {
    const author = new Y.Doc()
    let inner = author.getArray<unknown>('a')
    const steps: Uint8Array[] = []
    author.on('update', (u: Uint8Array) => steps.push(u))
    for (let i = 0; i < 130; i++) {
      const child = new Y.Array<unknown>()
      inner.push([child])
      inner = child
    }
    const doc = gated()
    // One level per update: each is small, but the 129th crosses the bound.
    steps.slice(0, 128).forEach((u) => gate(doc, u))
    expect(() => gate(doc, steps[128]!)).toThrowError(/nested deeper than 128/)
  })

  it('Yjs throwing part-way is reported as IntegrationFailed (the room then rebuilds from its store)', () => {
    // Deep nesting accepted (bound raised), then deleting the outer element overflows the stack.
    const doc = gated()
    gate(doc, nestedArrays(20_000), 100_000)
    // A delete set naming the outermost element (a Yjs client cannot even produce this: it overflows too).
    const outer = doc.getArray('a')._start!.id
    const e = encoding.createEncoder()
    for (const n of [0, 1, outer.client, 1, outer.clock, 1]) encoding.writeVarUint(e, n)
    const del = encoding.toUint8Array(e)
    expect(del.length).toBeLessThan(20)
    expect(() => gate(doc, del, 100_000)).toThrowError(IntegrationFailed)
  })
})

describe('update gate: pending parts', () => {
  // Root cause: Yjs keeps what it cannot integrate in the document and re-reads ALL of it on
  // every later update, and encodes it into the state that is stored: a poison that grows.
  it('takes a delete set on unknown ranges out of the document instead of leaving it pending there', () => {
    const doc = gated()
    doc.getText('t').insert(0, 'hello')
    const ghost = new Y.Doc()
    ghost.clientID = 999_999
    ghost.getText('t').insert(0, 'x'.repeat(1000))
    for (let i = 0; i < 500; i += 2) ghost.getText('t').delete(i / 2, 1)
    const full = Y.encodeStateAsUpdate(ghost)
    const dsOnly = Y.diffUpdate(full, Y.encodeStateVector(ghost)) // no structs, only the delete set
    const r = gate(doc, dsOnly)
    expect(r.pending?.ds).toBeInstanceOf(Uint8Array)
    if (r.pending) expect(r.integrated).toBeUndefined()
    expect(doc.store.pendingDs).toBeNull()
    expect(doc.store.pendingStructs).toBeNull()
    expect(doc.getText('t').toString()).toBe('hello')
  })

  it('out of order (tabs sharing edits): the later update waits, then integrates when the earlier one arrives', () => {
    const author = new Y.Doc()
    const ups: Uint8Array[] = []
    author.on('update', (u: Uint8Array) => ups.push(u))
    author.getText('t').insert(0, 'ab')
    author.getText('t').insert(2, 'cd')
    const doc = gated()
    const second = gate(doc, ups[1]!)
    expect(second.pending?.structs).not.toBeNull()
    expect(doc.store.pendingStructs).toBeNull()
    expect(doc.getText('t').toString()).toBe('')

    const buffer = new PendingBuffer<string>({ maxBytes: 1 << 20, maxParts: 8, timeoutMs: 1000 })
    expect(buffer.park(second.pending!, 'tab-b', 1, 0)).toBe(true)
    expect(buffer.takeReady(doc.store)).toHaveLength(0) // nothing it waits for has come
    expect(gate(doc, ups[0]!).pending).toBeUndefined()
    const ready = buffer.takeReady(doc.store)
    expect(ready.map((p) => p.origin)).toEqual(['tab-b'])
    expect(integrate(doc, ready[0]!.parts.structs!.update, LOAD_ORIGIN, { maxNestingDepth: 128, hasTypes: true, v2: true }).pending).toBeUndefined()
    expect(doc.getText('t').toString()).toBe('abcd')
  })

  it('when part of an update waits, what did integrate is returned to be stored, without the waiting part', () => {
    const author = new Y.Doc()
    author.getText('t').insert(0, 'base')
    const doc = gated()
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(author))
    // Another client's insert, plus a delete of ranges of a client nobody has seen.
    const other = new Y.Doc()
    Y.applyUpdate(other, Y.encodeStateAsUpdate(author))
    const sv = Y.encodeStateVector(other)
    other.getText('t').insert(4, '!')
    const insert = Y.encodeStateAsUpdate(other, sv)
    const ghost = new Y.Doc()
    ghost.clientID = 424_242
    ghost.getText('g').insert(0, 'zzzz')
    ghost.getText('g').delete(0, 4)
    const ghostDs = Y.diffUpdate(Y.encodeStateAsUpdate(ghost), Y.encodeStateVector(ghost))
    const r = gate(doc, Y.mergeUpdates([insert, ghostDs]))
    expect(r.pending?.ds).toBeInstanceOf(Uint8Array)
    expect(r.pending && r.integrated).toBeInstanceOf(Uint8Array)
    // A fresh replica given only the integrated part sees the insert and has nothing pending.
    const replica = new Y.Doc()
    Y.applyUpdate(replica, Y.encodeStateAsUpdate(author))
    if (r.pending && r.integrated) Y.applyUpdate(replica, r.integrated)
    expect(replica.getText('t').toString()).toBe('base!')
    expect(replica.store.pendingDs).toBeNull()
    expect(replica.store.pendingStructs).toBeNull()
  })

  it('the buffer is bounded in bytes and parts, and expires by age', () => {
    const buffer = new PendingBuffer<string>({ maxBytes: 100, maxParts: 2, timeoutMs: 50 })
    const part = (n: number) => ({ structs: null, ds: Y.convertUpdateFormatV1ToV2(Y.mergeUpdates([new Uint8Array([0, 1, 7, 1, 0, n])])) })
    expect(buffer.park(part(3), 'a', 1, 0)).toBe(true)
    expect(buffer.park(part(4), 'b', 1, 10)).toBe(true)
    expect(buffer.park(part(5), 'c', 1, 20)).toBe(false) // parts
    expect(buffer.takeExpired(49).map((p) => p.origin)).toEqual([])
    expect(buffer.takeExpired(55).map((p) => p.origin)).toEqual(['a'])
    expect(buffer.size).toBe(1)
    const big = { structs: null, ds: new Uint8Array(200) }
    expect(() => buffer.park(big, 'd', 1, 60)).not.toThrow()
    expect(buffer.size).toBe(1) // over the byte budget: refused
  })
})
