/**
 * Properties of SyncProvider's hostile-input handling: arbitrary bytes, and valid frames and
 * tab messages mutated, never escape a socket's or the tab channel's handler (a throw lands in
 * `escaped`, testing/hostile-fakes.ts).
 */
import { describe, expect, it, vi } from 'vitest'
import fc from 'fast-check'
import * as Y from 'yjs'
import { writeAwareness, writeQueryAwareness, writeSaved, writeSyncStep1FromStateVector, writeSyncStep2, writeSyncUpdate } from '../protocol/frame.js'
import { FakeChannel, channels, escaped, lastSocket, makeProvider, useHostileFakes } from './testing/hostile-fakes.js'
import { HOSTILE_UPDATE, awarenessUpdate, deepArray } from './testing/hostile-payloads.js'

useHostileFakes()

// ---------------------------------------------------------------------------------------------
// Properties: arbitrary bytes, and valid frames mutated, never escape a handler.

const docWith = (s: string): Y.Doc => {
  const d = new Y.Doc()
  d.getText('t').insert(0, s)
  return d
}

// A few client ids, so that two states for one peer meet (y-protocols compares them), and the
// known attacks among the building blocks, so the properties fail on the unguarded provider.
const awarenessEntry = fc.record({
  id: fc.oneof(fc.constantFrom(1, 2, 3), fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 70n })),
  clock: fc.oneof(fc.nat(6), fc.constantFrom(2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2), fc.bigInt({ min: 0n, max: 2n ** 70n })),
  state: fc.oneof(
    fc.json(),
    fc.constant('null'),
    fc.integer({ min: 60, max: 70 }).map(deepArray),
    fc.constant(deepArray(30_000)),
    fc.uint8Array({ maxLength: 12 }),
  ),
})

/** Big byte arrays print as a summary in counterexamples (the hostile update is 100 kB). */
function short(bytes: Uint8Array): Uint8Array {
  if (bytes.length > 64) {
    Object.defineProperty(bytes, fc.toStringMethod, {
      configurable: true,
      value: () => `Uint8Array(${bytes.length}) [${Array.from(bytes.subarray(0, 24)).join(',')},…]`,
    })
  }
  return bytes
}

const yjsUpdate = fc.oneof(
  { weight: 6, arbitrary: fc.string().map((s) => Y.encodeStateAsUpdate(docWith(s))) },
  { weight: 1, arbitrary: fc.constant(short(HOSTILE_UPDATE.slice())) },
)
const awarenessPayload = fc.array(awarenessEntry, { maxLength: 4 }).map(awarenessUpdate)
const stateVector = fc.string().map((s) => Y.encodeStateVector(docWith(s)))

const validFrames = fc.oneof(
  yjsUpdate.map((u) => short(writeSyncUpdate(u))),
  yjsUpdate.map((u) => short(writeSyncStep2(u))),
  stateVector.map(writeSyncStep1FromStateVector),
  awarenessPayload.map((u) => short(writeAwareness(u))),
  fc.constant(writeQueryAwareness()),
  fc.nat(3).map((n) => writeSaved(n)),
)

const mutation = fc.record({ pos: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), kind: fc.constantFrom('flip', 'insert', 'delete') })

function mutate(bytes: Uint8Array, mutations: readonly { pos: number; byte: number; kind: string }[]): Uint8Array {
  const out = Array.from(bytes)
  for (const m of mutations) {
    const p = m.pos % (out.length + 1)
    if (m.kind === 'flip' && out.length > 0) out[p % out.length] = m.byte
    else if (m.kind === 'insert') out.splice(p, 0, m.byte)
    else out.splice(p, 1)
  }
  return short(new Uint8Array(out))
}

/** Valid bytes as they are, mutated, truncated; or random bytes. */
const damaged = (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    { weight: 3, arbitrary: valid },
    { weight: 4, arbitrary: fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([b, m]) => mutate(b, m)) },
    { weight: 1, arbitrary: fc.tuple(valid, fc.nat()).map(([b, cut]) => short(b.slice(0, cut % (b.length + 1)))) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 120 }) },
  )

const hostileFrames = damaged(validFrames)
const hostilePayloads = damaged(fc.oneof(yjsUpdate, awarenessPayload, stateVector))

/** What another tab may post: anything at all, and our message types carrying damaged payloads. */
const tabMessages = fc.oneof(
  fc.anything(),
  damaged(awarenessPayload).map((update) => ({ v: 1, t: 'awareness', update })),
  fc.record({ v: fc.constant(1), t: fc.constant('update'), update: damaged(yjsUpdate), relay: fc.boolean() }),
  fc.record({ v: fc.constant(1), t: fc.constant('hello'), from: fc.string(), sv: damaged(stateVector) }),
  fc.record({ v: fc.constant(1), t: fc.constant('welcome'), to: fc.constant('self'), update: damaged(yjsUpdate), sv: damaged(stateVector), relay: fc.boolean() }),
  fc.record({
    v: fc.constantFrom(1, 1, 2),
    t: fc.constantFrom('update', 'hello', 'welcome', 'awareness', 'other'),
    update: fc.oneof({ weight: 5, arbitrary: hostilePayloads }, { weight: 1, arbitrary: fc.anything() }),
    sv: fc.oneof({ weight: 5, arbitrary: hostilePayloads }, { weight: 1, arbitrary: fc.anything() }),
    from: fc.string(),
    to: fc.constantFrom('self', 'other'),
    relay: fc.oneof(fc.boolean(), fc.anything()),
  }),
)

describe('property: nothing a server or a tab sends escapes a handler', () => {
  it('socket: arbitrary and mutated frames, in sequence, with reconnects in between', () => {
    fc.assert(
      fc.property(fc.array(hostileFrames, { minLength: 1, maxLength: 6 }), (frames) => {
        escaped.length = 0
        const provider = makeProvider()
        provider.on('listener-error', (e) => escaped.push(e))
        provider.awareness.setLocalState({ user: 'me' })
        lastSocket().sync()
        for (const bytes of frames) {
          if (provider.status !== 'connected') {
            vi.advanceTimersByTime(2_000)
            if (provider.status !== 'connecting') break // stopped for good
            lastSocket().sync()
          }
          lastSocket().receive(bytes)
        }
        expect(escaped).toEqual([])
        provider.destroy()
      }),
      { numRuns: 400 },
    )
  })

  it('tab channel: arbitrary values, and v1 messages carrying arbitrary or mutated bytes', () => {
    fc.assert(
      fc.property(fc.array(tabMessages, { minLength: 1, maxLength: 6 }), fc.boolean(), (messages, online) => {
        escaped.length = 0
        const provider = makeProvider({ crossTab: true, BroadcastChannel: FakeChannel, connect: online })
        provider.on('listener-error', (e) => escaped.push(e))
        provider.awareness.setLocalState({ user: 'me' })
        if (online) lastSocket().sync()
        const channel = channels.at(-1)!
        for (const m of messages) {
          const addressed =
            typeof m === 'object' && m !== null && (m as { to?: unknown }).to === 'self' ? { ...m, to: channel.tabId } : m
          channel.deliver(addressed)
        }
        expect(escaped).toEqual([])
        provider.destroy()
      }),
      { numRuns: 400 },
    )
  })
})
