import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as Y from 'yjs'
import * as awarenessProtocol from 'y-protocols/awareness'
import {
  ProtocolError,
  readAwarenessHeaders,
  readAwarenessUpdate,
  readFrame,
  sliceAwarenessUpdate,
  validateUpdate,
  writeAuthDenied,
  writeAwareness,
  writeAwarenessUpdate,
  writeQueryAwareness,
  writeSaved,
  writeSyncStep1,
  writeSyncStep2,
  writeSyncUpdate,
  type Frame,
} from './index.js'

const docWith = (s: string) => {
  const d = new Y.Doc()
  d.getText('t').insert(0, s)
  return d
}

describe('frame round trips', () => {
  it('sync step 1 / step 2 / update', () => {
    const doc = docWith('hello')
    const sv = Y.encodeStateVector(doc)
    expect(readFrame(writeSyncStep1(doc))).toEqual({ type: 'sync-step1', stateVector: sv })
    const update = Y.encodeStateAsUpdate(doc)
    expect(readFrame(writeSyncStep2(update))).toEqual({ type: 'sync-step2', update })
    expect(readFrame(writeSyncUpdate(update))).toEqual({ type: 'sync-update', update })
  })

  it('awareness, query-awareness, auth', () => {
    const doc = new Y.Doc()
    const aw = new awarenessProtocol.Awareness(doc)
    aw.setLocalState({ user: { name: 'Zoë', color: '#abc' } })
    const u = awarenessProtocol.encodeAwarenessUpdate(aw, [doc.clientID])
    expect(readFrame(writeAwareness(u))).toEqual({ type: 'awareness', update: u })
    expect(readFrame(writeQueryAwareness())).toEqual({ type: 'query-awareness' })
    expect(readFrame(writeAuthDenied('read-only ✋'))).toEqual({ type: 'auth-denied', reason: 'read-only ✋' })
    expect(readFrame(writeSaved(0))).toEqual({ type: 'saved', count: 0 })
    expect(readFrame(writeSaved(2 ** 40))).toEqual({ type: 'saved', count: 2 ** 40 })
    const entries = readAwarenessUpdate(u)
    expect(entries).toEqual([{ clientID: doc.clientID, clock: 1, state: { user: { name: 'Zoë', color: '#abc' } } }])
    expect(readAwarenessUpdate(writeAwarenessUpdate(entries))).toEqual(entries)
    aw.destroy()
  })

  it('awareness headers locate each entry so a subset re-encodes byte-exactly', () => {
    const entries = [
      { clientID: 1, clock: 5, state: { a: 1 } },
      { clientID: 300, clock: 1, state: null },
      { clientID: 2 ** 31, clock: 70000, state: { name: 'x'.repeat(200) } },
    ]
    const u = writeAwarenessUpdate(entries)
    const headers = readAwarenessHeaders(u)
    expect(headers.map((h) => [h.clientID, h.clock, h.isNull])).toEqual([
      [1, 5, false],
      [300, 1, true],
      [2 ** 31, 70000, false],
    ])
    expect(readAwarenessUpdate(sliceAwarenessUpdate(u, [headers[0]!, headers[2]!]))).toEqual([entries[0], entries[2]])
  })

  it('validateUpdate tells content from the empty update and rejects garbage', () => {
    expect(validateUpdate(Y.encodeStateAsUpdate(docWith('x')))).toBe(true)
    expect(validateUpdate(Y.encodeStateAsUpdate(new Y.Doc()))).toBe(false)
    const u = Y.encodeStateAsUpdate(docWith('a longer text that we will truncate'))
    expect(() => validateUpdate(u.subarray(0, u.length - 5))).toThrow(ProtocolError)
  })

  it('reads only inside its view of a larger buffer (pooled Node buffers)', () => {
    // A length that points past the view but inside the underlying ArrayBuffer must still fail.
    const backing = new Uint8Array(64).fill(7)
    backing.set([0, 2, 20, 1, 2], 0)
    expect(() => readFrame(backing.subarray(0, 5))).toThrow(ProtocolError)
  })
})

/** Classifies what a decoder did with arbitrary bytes: a typed frame or a ProtocolError, nothing else. */
function outcome(bytes: Uint8Array): 'frame' | 'protocol-error' {
  try {
    const f: Frame = readFrame(bytes)
    if (f.type === 'sync-step2' || f.type === 'sync-update') validateUpdate(f.update)
    if (f.type === 'awareness') readAwarenessUpdate(f.update)
    return 'frame'
  } catch (err) {
    if (err instanceof ProtocolError) return 'protocol-error'
    throw err
  }
}

const validFrames = fc.oneof(
  fc.string().map((s) => writeSyncUpdate(Y.encodeStateAsUpdate(docWith(s)))),
  fc.string().map((s) => writeSyncStep1(docWith(s))),
  fc.string().map((s) => writeSyncStep2(Y.encodeStateAsUpdate(docWith(s)))),
  fc.record({ id: fc.nat(), clock: fc.nat(), name: fc.string() }).map(({ id, clock, name }) =>
    writeAwareness(writeAwarenessUpdate([{ clientID: id, clock, state: { user: { name } } }])),
  ),
  fc.constant(writeQueryAwareness()),
  fc.string().map((s) => writeAuthDenied(s)),
  fc.nat().map((n) => writeSaved(n)),
)

describe('hostile bytes only ever produce a frame or a ProtocolError', () => {
  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => void outcome(bytes)), { numRuns: 3000 })
  })

  it('valid frames, truncated', () => {
    fc.assert(
      fc.property(validFrames, fc.nat(), (frame, cut) => {
        const n = cut % frame.length
        expect(outcome(frame.subarray(0, n))).toBe('protocol-error')
      }),
      { numRuns: 1000 },
    )
  })

  it('valid frames, mutated (bit flips, insertions, deletions)', () => {
    const mutation = fc.record({ pos: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), kind: fc.constantFrom('flip', 'insert', 'delete') })
    fc.assert(
      fc.property(validFrames, fc.array(mutation, { minLength: 1, maxLength: 4 }), (frame, mutations) => {
        const bytes = Array.from(frame)
        for (const m of mutations) {
          const p = m.pos % (bytes.length + 1)
          if (m.kind === 'flip' && bytes.length) bytes[p % bytes.length] = m.byte
          else if (m.kind === 'insert') bytes.splice(p, 0, m.byte)
          else bytes.splice(p, 1)
        }
        void outcome(new Uint8Array(bytes))
      }),
      { numRuns: 3000 },
    )
  })

  it('valid frames decode', () => {
    fc.assert(fc.property(validFrames, (frame) => {
        expect(outcome(frame)).toBe('frame')
      }), { numRuns: 500 })
  })

  it('huge varints are rejected, not looped on', () => {
    expect(outcome(new Uint8Array(20).fill(0xff))).toBe('protocol-error')
    expect(outcome(new Uint8Array([1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]))).toBe('protocol-error')
  })
})
