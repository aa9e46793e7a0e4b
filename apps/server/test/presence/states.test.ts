import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as encoding from 'lib0/encoding'
import { ProtocolError, readAwarenessHeaders, readAwarenessUpdate } from '@tandem/sync'
import { MAX_AWARENESS_CLOCK, PRESENCE_TIMEOUT_MS, Presence } from '../../src/presence/states.js'

/** An awareness update with the given entries, encoded the way y-protocols does. */
function update(entries: Array<[clientID: number, clock: number, state: unknown]>): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, entries.length)
  for (const [id, clock, state] of entries) {
    encoding.writeVarUint(e, id)
    encoding.writeVarUint(e, clock)
    encoding.writeVarString(e, JSON.stringify(state))
  }
  return encoding.toUint8Array(e)
}

const apply = (p: Presence, u: Uint8Array, now?: number) => p.apply(u, readAwarenessHeaders(u), now)

/** What a y-protocols client would see after applying `u`: clientID → state. */
function seenBy(u: Uint8Array): Map<number, unknown> {
  const a = new awarenessProtocol.Awareness(new Y.Doc())
  a.setLocalState(null)
  awarenessProtocol.applyAwarenessUpdate(a, u, 'test')
  const states = new Map(a.getStates())
  a.destroy()
  return states
}

describe('Presence (server-side awareness)', () => {
  it('accepts exactly what a y-protocols Awareness accepts, over a long random history', () => {
    const reference = new awarenessProtocol.Awareness(new Y.Doc())
    reference.setLocalState(null)
    const p = new Presence()
    let seed = 42
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % n
    }
    const clocks = new Map<number, number>()
    for (let step = 0; step < 3000; step++) {
      const entries: Array<[number, number, unknown]> = []
      for (let k = 1 + rand(3); k > 0; k--) {
        const id = 1 + rand(6)
        const known = clocks.get(id) ?? 0
        // Mostly newer clocks, sometimes stale or equal ones (reordered or repeated messages).
        const clock = Math.max(0, known + [1, 1, 1, 0, -1, 2][rand(6)]!)
        clocks.set(id, Math.max(known, clock))
        entries.push([id, clock, rand(4) === 0 ? null : { cursor: rand(1000), name: `u${id}` }])
      }
      const u = update(entries)
      apply(p, u)
      awarenessProtocol.applyAwarenessUpdate(reference, u, 'test')
      expect(seenBy(p.encodeAll())).toEqual(reference.getStates())
      expect(p.size).toBe(reference.getStates().size)
    }
    reference.destroy()
  })

  it('keeps the bytes clients sent and hands them out unchanged', () => {
    const p = new Presence()
    const u = update([[7, 1, { user: { name: 'Ada', color: '#f00' }, cursor: null }]])
    apply(p, u)
    expect(Buffer.from(p.encodeAll()).equals(Buffer.from(u))).toBe(true)
    expect(p.encode([7, 8])).toEqual(u)
    expect(p.encode([8])).toEqual(update([]))
  })

  it('a state that is not JSON is refused with 1007 and changes nothing', () => {
    const p = new Presence()
    apply(p, update([[1, 1, { ok: true }]]))
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 2)
    for (const [id, json] of [[2, '{"fine":1}'], [3, '{not json']] as const) {
      encoding.writeVarUint(e, id)
      encoding.writeVarUint(e, 1)
      encoding.writeVarString(e, json)
    }
    const bad = encoding.toUint8Array(e)
    let err: unknown
    try {
      apply(p, bad)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ProtocolError)
    expect((err as ProtocolError).closeCode).toBe(1007)
    expect(p.has(2)).toBe(false)
    expect([...seenBy(p.encodeAll()).keys()]).toEqual([1])
  })

  it('remove() announces null states one clock ahead; y-protocols clients drop them; stale updates stay ignored', () => {
    const p = new Presence()
    const u = update([
      [1, 3, { a: 1 }],
      [2, 5, { b: 1 }],
    ])
    apply(p, u)
    const removal = p.remove([1, 2, 99])!
    expect(readAwarenessHeaders(removal).map((h) => [h.clientID, h.clock, h.isNull])).toEqual([
      [1, 4, true],
      [2, 6, true],
    ])
    // A client that had both states applies the removal and has none left.
    const client = new awarenessProtocol.Awareness(new Y.Doc())
    client.setLocalState(null)
    awarenessProtocol.applyAwarenessUpdate(client, u, 'x')
    awarenessProtocol.applyAwarenessUpdate(client, removal, 'x')
    expect(client.getStates().size).toBe(0)
    client.destroy()

    expect(p.size).toBe(0)
    expect(p.remove([1, 2])).toBeUndefined()
    // The old state arriving late (same clock as before the removal) does not come back.
    apply(p, u)
    expect(p.size).toBe(0)
    // The client renewing with a newer clock does.
    apply(p, update([[1, 5, { a: 2 }]]))
    expect(seenBy(p.encodeAll())).toEqual(new Map([[1, { a: 2 }]]))
  })

  it('a state nobody renewed for 30 s is no longer handed to joiners; a renewal brings it back', () => {
    const p = new Presence()
    const t0 = 1_000_000
    apply(p, update([[1, 1, { a: 1 }]]), t0)
    apply(p, update([[2, 1, { b: 1 }]]), t0 + 20_000)
    expect(seenBy(p.encodeAll(t0 + PRESENCE_TIMEOUT_MS - 1)).size).toBe(2)
    expect([...seenBy(p.encodeAll(t0 + PRESENCE_TIMEOUT_MS)).keys()]).toEqual([2])
    expect(p.size).toBe(1)
    apply(p, update([[1, 2, { a: 2 }]]), t0 + PRESENCE_TIMEOUT_MS + 1)
    expect(seenBy(p.encodeAll(t0 + PRESENCE_TIMEOUT_MS + 2))).toEqual(
      new Map<number, unknown>([
        [1, { a: 2 }],
        [2, { b: 1 }],
      ]),
    )
  })

  it('a clock above 2^53 − 2 is refused with 1007 awareness-clock; at 2^53 − 2, the removal (2^53 − 1) still decodes', () => {
    // Root cause guarded: the removal one clock ahead of 2^53 − 1 was 2^53, which Tandem's decoder refuses.
    expect(MAX_AWARENESS_CLOCK).toBe(2 ** 53 - 2)
    const p = new Presence()
    for (const state of [{ a: 1 }, null]) {
      const err = refusal(() => apply(p, update([[1, MAX_AWARENESS_CLOCK + 1, state]])))
      expect([err.closeCode, err.reason]).toEqual([1007, 'awareness-clock'])
    }
    expect(p.size).toBe(0)
    apply(p, update([[1, MAX_AWARENESS_CLOCK, { a: 1 }]]))
    const removal = p.remove([1])!
    expect(readAwarenessUpdate(removal)).toEqual([{ clientID: 1, clock: Number.MAX_SAFE_INTEGER, state: null }])
  })

  it('a state nested deeper than 64 is refused with 1007 awareness-depth and changes nothing', () => {
    const p = new Presence()
    let ok: unknown = 1
    for (let k = 0; k < 64; k++) ok = [ok]
    apply(p, update([[1, 1, ok]]))
    const err = refusal(() => apply(p, update([[2, 1, { fine: true }], [3, 1, [ok]]])))
    expect([err.closeCode, err.reason]).toEqual([1007, 'awareness-depth'])
    expect([...seenBy(p.encodeAll()).keys()]).toEqual([1])
  })

  it("another server's update is checked the same way: dropped whole when bad; its removal at 2^53 − 1 is taken", () => {
    const p = new Presence()
    expect(p.applyFromServer(update([[1, MAX_AWARENESS_CLOCK, { a: 1 }]]))).toBe(true)
    expect(p.applyFromServer(update([[2, 1, { b: 1 }], [3, MAX_AWARENESS_CLOCK + 1, { c: 1 }]]))).toBe(false)
    expect(p.applyFromServer(update([[2, 1, { b: 1 }], [3, 1, '['.repeat(65)]]))).toBe(true) // a string, not nesting
    expect(p.applyFromServer(new TextEncoder().encode('\x01\x02[[['))).toBe(false) // not even framed
    let deep: unknown = 0
    for (let k = 0; k < 65; k++) deep = { k: deep }
    expect(p.applyFromServer(update([[4, 1, deep]]))).toBe(false)
    expect([...seenBy(p.encodeAll()).keys()].sort()).toEqual([1, 2, 3])
    // That server's client at the highest clock left: its announcement is one clock ahead.
    expect(p.applyFromServer(update([[1, MAX_AWARENESS_CLOCK + 1, null]]))).toBe(true)
    expect(p.has(1)).toBe(false)
  })

  it('forget() drops the clock of an id without a state, never a state', () => {
    const p = new Presence()
    apply(p, update([[1, 5, { a: 1 }], [2, 5, { b: 1 }]]))
    p.remove([1])
    p.forget(1)
    p.forget(2)
    const h = (id: number, clock: number) => readAwarenessHeaders(update([[id, clock, { x: 1 }]]))[0]!
    expect(p.changes(h(1, 1))).toBe(true) // clock 6 forgotten
    expect(p.changes(h(2, 5))).toBe(false)
    expect(p.has(2)).toBe(true)
  })
})

function refusal(fn: () => unknown): ProtocolError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ProtocolError) return err
    throw err
  }
  throw new Error('not refused')
}
