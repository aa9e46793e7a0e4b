import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { SavedTracker } from './saved-tracker.js'

/** A tracker on a connection whose hello has arrived. */
function trusted(): { t: SavedTracker; id: number } {
  const t = new SavedTracker()
  const id = t.opened(true)
  t.hello(id)
  return { t, id }
}

/** A local change sent at once as its own update message. */
function edit(t: SavedTracker, id: number): void {
  t.localChange()
  t.sentMessage(id, 'local-update')
}

describe('SavedTracker', () => {
  it('counts a local change until the acknowledgement of the message carrying it', () => {
    const { t, id } = trusted()
    expect(t.state).toBe('supported')
    edit(t, id)
    expect(t.unsavedChanges).toBe(1)
    expect(t.ack(id, 0)).toBe('ignored')
    expect(t.unsavedChanges).toBe(1)
    expect(t.ack(id, 1)).toBe('applied')
    expect(t.unsavedChanges).toBe(0)
  })

  it('settles everything up to a cumulative count, and ignores stale or repeated counts', () => {
    const { t, id } = trusted()
    for (let i = 0; i < 5; i++) edit(t, id)
    expect(t.ack(id, 3)).toBe('applied')
    expect(t.unsavedChanges).toBe(2)
    // Reordered or duplicated acknowledgements never settle anything twice or undo anything.
    expect(t.ack(id, 2)).toBe('ignored')
    expect(t.ack(id, 3)).toBe('ignored')
    expect(t.unsavedChanges).toBe(2)
    expect(t.ack(id, 5)).toBe('applied')
    expect(t.unsavedChanges).toBe(0)
  })

  it('reports a count above the messages sent as invalid and changes nothing', () => {
    const { t, id } = trusted()
    edit(t, id)
    expect(t.ack(id, 2)).toBe('invalid')
    expect(t.unsavedChanges).toBe(1)
  })

  it('counts messages that carry no local change (empty step 2, relayed updates) in the numbering', () => {
    const { t, id } = trusted()
    t.sentMessage(id, 'step2') // nothing unsent: covers nothing, but is message 1
    t.sentMessage(id, 'relayed-update') // message 2
    edit(t, id) // message 3
    expect(t.ack(id, 2)).toBe('applied')
    expect(t.unsavedChanges).toBe(1)
    expect(t.ack(id, 3)).toBe('applied')
    expect(t.unsavedChanges).toBe(0)
  })

  it('lets one step 2 cover every change made offline', () => {
    const t = new SavedTracker()
    for (let i = 0; i < 4; i++) t.localChange()
    expect(t.unsavedChanges).toBe(4)
    expect(t.state).toBe('unknown')
    const id = t.opened(true)
    t.hello(id)
    t.sentMessage(id, 'step2')
    expect(t.unsavedChanges).toBe(4)
    expect(t.ack(id, 1)).toBe('applied')
    expect(t.unsavedChanges).toBe(0)
  })

  it('keeps offline changes when an edit sent before the step 2 is acknowledged first', () => {
    const t = new SavedTracker()
    t.localChange()
    t.localChange()
    const id = t.opened(true)
    t.hello(id)
    edit(t, id) // typed after the socket opened, before the server's step 1 arrived: message 1
    t.sentMessage(id, 'step2') // message 2 carries the two offline changes
    expect(t.ack(id, 1)).toBe('applied')
    expect(t.unsavedChanges).toBe(2)
    expect(t.ack(id, 2)).toBe('applied')
    expect(t.unsavedChanges).toBe(0)
  })

  it('never applies a dead connection’s acknowledgements to the next one (reconnect mid-flight)', () => {
    const t = new SavedTracker()
    const first = t.opened(true)
    t.hello(first)
    edit(t, first)
    edit(t, first)
    t.closed(first)
    expect(t.unsavedChanges).toBe(2)

    const second = t.opened(true)
    t.hello(second)
    edit(t, second) // message 1 of the new connection
    // The old connection's late Saved(2) must not settle the new connection's messages 1-2.
    expect(t.ack(first, 2)).toBe('ignored')
    expect(t.unsavedChanges).toBe(3)
    t.sentMessage(second, 'step2') // message 2 carries the two changes the first one lost
    expect(t.ack(second, 1)).toBe('applied')
    expect(t.unsavedChanges).toBe(2)
    expect(t.ack(second, 2)).toBe('applied')
    expect(t.unsavedChanges).toBe(0)
  })

  it('ignores messages reported for a connection that is no longer current', () => {
    const t = new SavedTracker()
    const first = t.opened(true)
    t.hello(first)
    const second = t.opened(true) // opening implies the first one is gone
    t.hello(second)
    t.localChange()
    t.sentMessage(first, 'local-update')
    expect(t.unsavedChanges).toBe(1)
    t.sentMessage(second, 'step2')
    expect(t.ack(second, 1)).toBe('applied')
    expect(t.unsavedChanges).toBe(0)
  })

  it('trusts nothing before the hello, and nothing at all on a connection that skipped it', () => {
    const t = new SavedTracker()
    const id = t.opened(true)
    expect(t.awaitingHello).toBe(true)
    edit(t, id)
    expect(t.ack(id, 1)).toBe('ignored')
    t.noHello(id) // e.g. a server that echoed the subprotocol, then sent its sync step 1
    expect(t.state).toBe('unsupported')
    t.hello(id) // too late: not a hello any more
    expect(t.ack(id, 1)).toBe('ignored')
    expect(t.state).toBe('unsupported')
    expect(t.unsavedChanges).toBe(1)
  })

  it('on a server without the extension never pretends: the count only grows', () => {
    const t = new SavedTracker()
    const id = t.opened(false)
    expect(t.state).toBe('unsupported')
    expect(t.awaitingHello).toBe(false)
    for (let i = 0; i < 3; i++) edit(t, id)
    t.sentMessage(id, 'step2')
    expect(t.ack(id, 4)).toBe('ignored')
    expect(t.unsavedChanges).toBe(3)
  })

  it('settles changes sent to a server without the extension once a server with it acknowledges its step 2', () => {
    const t = new SavedTracker()
    const plain = t.opened(false)
    edit(t, plain)
    t.closed(plain)
    const acking = t.opened(true)
    t.hello(acking)
    expect(t.state).toBe('supported')
    t.sentMessage(acking, 'step2')
    expect(t.ack(acking, 1)).toBe('applied')
    expect(t.unsavedChanges).toBe(0)
  })

  it('with savedAcks off stays unsupported even after a hello', () => {
    const t = new SavedTracker(false)
    expect(t.state).toBe('unsupported')
    const id = t.opened(true)
    t.hello(id)
    edit(t, id)
    expect(t.ack(id, 1)).toBe('ignored')
    expect(t.state).toBe('unsupported')
  })

  it('keeps its last verdict while offline', () => {
    const { t, id } = trusted()
    t.closed(id)
    expect(t.state).toBe('supported')
    t.localChange()
    expect(t.unsavedChanges).toBe(1)
  })

  it('property: the count is exact against a model of which changes each message carries', () => {
    // Model: every local change has an identity; a message carries a set of them; the server
    // acknowledges prefixes of a connection's messages. A change is saved once a trusted
    // acknowledgement covers a message carrying it. Connections break at random.
    type Op =
      | { op: 'change'; send: boolean }
      | { op: 'step2' }
      | { op: 'relay' }
      | { op: 'ack'; frac: number }
      | { op: 'staleAck'; count: number }
      | { op: 'reconnect' }
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('change' as const), send: fc.boolean() }),
      fc.record({ op: fc.constant('step2' as const) }),
      fc.record({ op: fc.constant('relay' as const) }),
      fc.record({ op: fc.constant('ack' as const), frac: fc.double({ min: 0, max: 1, noNaN: true }) }),
      fc.record({ op: fc.constant('staleAck' as const), count: fc.nat(50) }),
      fc.record({ op: fc.constant('reconnect' as const) }),
    )
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const t = new SavedTracker()
        let id = t.opened(true)
        t.hello(id)
        const oldIds: number[] = []
        let nextChange = 0
        const saved = new Set<number>()
        const all = new Set<number>()
        let messages: Set<number>[] = [] // what each message of the current connection carries
        let acked = 0
        for (const o of ops) {
          switch (o.op) {
            case 'change': {
              const c = nextChange++
              all.add(c)
              t.localChange()
              if (o.send) {
                t.sentMessage(id, 'local-update')
                messages.push(new Set([c]))
              }
              break
            }
            case 'step2': // carries every change the server does not hold
              t.sentMessage(id, 'step2')
              messages.push(new Set([...all].filter((c) => !saved.has(c))))
              break
            case 'relay':
              t.sentMessage(id, 'relayed-update')
              messages.push(new Set())
              break
            case 'ack': {
              const count = acked + Math.round(o.frac * (messages.length - acked))
              const outcome = t.ack(id, count)
              if (count > acked) {
                expect(outcome).toBe('applied')
                for (const m of messages.slice(0, count)) for (const c of m) saved.add(c)
                acked = count
              } else expect(outcome).toBe('ignored')
              break
            }
            case 'staleAck':
              for (const old of oldIds) expect(t.ack(old, o.count)).toBe('ignored')
              break
            case 'reconnect':
              t.closed(id)
              oldIds.push(id)
              id = t.opened(true)
              t.hello(id)
              messages = []
              acked = 0
              break
          }
          expect(t.unsavedChanges).toBe(all.size - saved.size)
        }
      }),
      { numRuns: 300 },
    )
  })
})
