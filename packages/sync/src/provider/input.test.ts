import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as Y from 'yjs'
import { Awareness, applyAwarenessUpdate } from 'y-protocols/awareness'
import { ProtocolError } from '../protocol/errors.js'
import { readAwarenessUpdate, writeAwarenessUpdate } from '../protocol/frame.js'
import { MAX_AWARENESS_DEPTH, applyAwarenessEntries, jsonDeeperThan, readAwarenessGuarded } from './input.js'

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const deeper = (json: string, limit: number): boolean => {
  const b = utf8(json)
  return jsonDeeperThan(b, 0, b.length, limit)
}

/** Nesting depth of a parsed JSON value, arrays and objects counted. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  const children = Array.isArray(value) ? value : Object.values(value)
  return 1 + children.reduce<number>((d, c) => Math.max(d, depthOf(c)), 0)
}

describe('jsonDeeperThan', () => {
  it('counts arrays and objects, not brackets inside strings or escaped quotes', () => {
    expect(deeper('[[]]', 2)).toBe(false)
    expect(deeper('[[[]]]', 2)).toBe(true)
    expect(deeper('{"a":[{}]}', 3)).toBe(false)
    expect(deeper('{"a":[{}]}', 2)).toBe(true)
    expect(deeper('"[[[[[[["', 1)).toBe(false)
    expect(deeper('["\\"[[[[", "\\\\", []]', 1)).toBe(true)
    expect(deeper('["\\"[[[[", "\\\\"]', 1)).toBe(false)
    expect(deeper('[' .repeat(64) + ']'.repeat(64), MAX_AWARENESS_DEPTH)).toBe(false)
    expect(deeper('[' .repeat(65) + ']'.repeat(65), MAX_AWARENESS_DEPTH)).toBe(true)
  })

  it('agrees with the depth of the parsed value, for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.nat(7), (value, limit) => {
        expect(deeper(JSON.stringify(value), limit)).toBe(depthOf(value) > limit)
      }),
      { numRuns: 2000 },
    )
  })
})

describe('readAwarenessGuarded', () => {
  const entry = fc.record({
    clientID: fc.nat(),
    clock: fc.nat(),
    state: fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 5 })),
  })

  it('reads every valid update exactly like the strict reader', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 5 }), (entries) => {
        const update = writeAwarenessUpdate(entries)
        const guarded = readAwarenessGuarded(update)
        expect(guarded.dropped).toBeNull()
        expect(guarded.total).toBe(entries.length)
        expect(guarded.entries).toEqual(readAwarenessUpdate(update))
      }),
      { numRuns: 500 },
    )
  })

  it('throws only ProtocolError, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        try {
          readAwarenessGuarded(bytes)
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError)
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('still reads the entries after a varUint of any length', () => {
    // id 5, then a clock of 30 bytes (far past 2^53), then id 6 that is fine.
    const long = [...new Array<number>(29).fill(0xff), 0x01]
    const update = new Uint8Array([2, 5, ...long, 2, 0x7b, 0x7d, 6, 1, 2, 0x7b, 0x7d])
    const read = readAwarenessGuarded(update)
    expect(read.entries).toEqual([{ clientID: 6, clock: 1, state: {} }])
    expect(read.dropped?.reason).toBe('awareness-clock')
  })
})

describe('applyAwarenessEntries', () => {
  // Client ids 1-3; the awareness under test is client 1 with a live local state, so remote
  // removals of "us" are exercised too.
  const entry = fc.record({
    clientID: fc.constantFrom(1, 2, 3),
    clock: fc.nat(6),
    state: fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 3 })),
  })

  function awareness(): { a: Awareness; events: unknown[] } {
    const doc = new Y.Doc()
    doc.clientID = 1
    const a = new Awareness(doc)
    a.setLocalState({ me: true })
    const events: unknown[] = []
    a.on('change', (c: unknown, origin: unknown) => events.push(['change', c, origin]))
    a.on('update', (c: unknown, origin: unknown) => events.push(['update', c, origin]))
    return { a, events }
  }

  it("does what y-protocols' applyAwarenessUpdate does, update after update", () => {
    fc.assert(
      fc.property(fc.array(fc.array(entry, { minLength: 1, maxLength: 4 }), { maxLength: 6 }), (updates) => {
        const theirs = awareness()
        const ours = awareness()
        for (const entries of updates) {
          const update = writeAwarenessUpdate(entries)
          applyAwarenessUpdate(theirs.a, update, 'origin')
          applyAwarenessEntries(ours.a, readAwarenessGuarded(update).entries, 'origin')
        }
        expect(ours.events).toEqual(theirs.events)
        expect(ours.a.getStates()).toEqual(theirs.a.getStates())
        const clocks = (a: Awareness) => [...a.meta].map(([id, m]) => [id, m.clock])
        expect(clocks(ours.a)).toEqual(clocks(theirs.a))
        theirs.a.destroy()
        ours.a.destroy()
      }),
      { numRuns: 1000 },
    )
  })
})
