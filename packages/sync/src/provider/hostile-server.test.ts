/**
 * Hostile frames from the server against SyncProvider: nothing may throw out of the socket's
 * handlers (uncaught in Node = the process dies). A bad awareness entry is dropped alone, a
 * frame that cannot be read closes the connection (backoff, never a hot loop), and an update
 * Yjs cannot apply closes it too; see provider.ts › "Hostile input". The fake socket delivers
 * synchronously, so a throw out of a handler lands in `escaped` (testing/hostile-fakes.ts).
 */
import { describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { ProtocolError } from '../protocol/errors.js'
import { writeAwareness, writeSyncStep2, writeSyncUpdate } from '../protocol/frame.js'
import { escaped, lastSocket, makeProvider, peers, record, sockets, syncedProvider, text, useHostileFakes } from './testing/hostile-fakes.js'
import { HOSTILE_UPDATE, NOT_UTF8, awarenessUpdate, deepArray, deepObject, state, textUpdate } from './testing/hostile-payloads.js'

useHostileFakes()

describe('hostile frames from the server', () => {
  it('drops only the bad entries of a mixed awareness frame; the good ones apply and the connection stays', () => {
    const { provider, socket, events } = syncedProvider()
    socket.receive(
      writeAwareness(
        awarenessUpdate([
          { id: 101, clock: 1, state: state('{"name":"a"}') },
          { id: 102, clock: 2 ** 53, state: state('{}') }, // attack (a): past 2^53 − 1
          { id: 103, clock: 2n ** 70n, state: state('{}') }, // lib0's readVarUint throws on it
          { id: 104, clock: 1, state: deepArray(30_000) }, // attack (b)
          { id: 105, clock: 1, state: NOT_UTF8 },
          { id: 106, clock: 1, state: state('{"unterminated":') },
          { id: 2n ** 60n, clock: 1, state: state('{}') }, // client id past 2^53 − 1
          { id: 107, clock: 1, state: deepArray(64) }, // the bound itself is fine
          { id: 108, clock: 1, state: deepObject(65) }, // one past it is not
          { id: 109, clock: 2 ** 53 - 1, state: state('{"name":"b"}') },
        ]),
      ),
    )
    expect(escaped).toEqual([])
    expect(peers(provider)).toEqual([101, 107, 109])
    expect(provider.awareness.getStates().get(109)).toEqual({ name: 'b' })
    expect(provider.status).toBe('connected')
    expect(socket.closed).toBe(false)
    expect(sockets).toHaveLength(1)
    expect(events.dropped).toHaveLength(1)
    expect(events.dropped[0]!.source).toBe('server')
    expect(events.dropped[0]!.error).toBeInstanceOf(ProtocolError)
    expect(events.dropped[0]!.error.message).toMatch(/7 of 10 awareness entries/)
    // Everything else is as it was.
    expect(text(provider)).toBe('kept')
    expect(provider.synced).toBe(true)
    expect(provider.awareness.getLocalState()).toEqual({ user: 'me' })
  })

  it('a state nested 30,000 deep never reaches y-protocols (its equalityDeep overflows the stack)', () => {
    const { provider, socket, events } = syncedProvider()
    // equalityDeep compares a peer's new state with its previous one: two deep states in a row.
    for (const clock of [1, 2]) {
      socket.receive(
        writeAwareness(
          awarenessUpdate([
            { id: 201, clock, state: deepArray(30_000) },
            { id: 202, clock, state: deepObject(30_000) },
            { id: 203, clock, state: state(`{"n":${clock}}`) },
          ]),
        ),
      )
    }
    expect(escaped).toEqual([])
    expect(peers(provider)).toEqual([203])
    expect(provider.awareness.getStates().get(203)).toEqual({ n: 2 })
    expect(events.dropped.map((d) => d.error.reason)).toEqual(['awareness-depth', 'awareness-depth'])
    expect(provider.status).toBe('connected')
  })

  it('does not let a remote entry push its own clock past 2^53 − 1', () => {
    const { provider, socket } = syncedProvider()
    const own = provider.awareness.clientID
    // "You left" for our own id makes y-protocols re-announce us with clock + 1.
    socket.receive(writeAwareness(awarenessUpdate([{ id: own, clock: 2 ** 53 - 1, state: 'null' }])))
    expect(escaped).toEqual([])
    expect(provider.awareness.meta.get(own)!.clock).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER)
    expect(provider.awareness.getLocalState()).toEqual({ user: 'me' })
  })

  it('closes and reconnects after an awareness frame it cannot parse, its document and presence intact', () => {
    const { provider, socket, events } = syncedProvider()
    provider.doc.getText('t').insert(0, '>') // a local edit
    const unsaved = provider.unsavedChanges
    // Says two entries, holds one: the framing itself is broken, nothing can be trusted.
    const truncated = awarenessUpdate([{ id: 301, clock: 1, state: '{}' }])
    truncated[0] = 2
    socket.receive(writeAwareness(truncated))
    expect(escaped).toEqual([])
    expect(socket.closed).toBe(true)
    expect(events.connectionErrors.at(-1)).toBeInstanceOf(ProtocolError)
    expect(events.statuses.at(-1)).toMatchObject({ status: 'disconnected' })
    expect(events.statuses.at(-1)!.retryInMs).toBeTypeOf('number')
    expect(text(provider)).toBe('>kept')
    expect(provider.unsavedChanges).toBe(unsaved)
    vi.advanceTimersByTime(100)
    expect(sockets).toHaveLength(2)
    lastSocket().sync(textUpdate('kept'))
    expect(provider.status).toBe('connected')
    expect(provider.synced).toBe(true)
    expect(provider.awareness.getLocalState()).toEqual({ user: 'me' })
    // It announced itself again on the new connection.
    expect(lastSocket().sent.some((f) => f[0] === 1)).toBe(true)
  })

  it('an update Yjs throws on, in a doc with gc off: closes, reconnects with backoff, and resyncs', () => {
    const doc = new Y.Doc({ gc: false })
    const { provider, socket, events } = syncedProvider({ doc })
    expect(() => Y.applyUpdate(new Y.Doc({ gc: false }), HOSTILE_UPDATE)).toThrow(RangeError) // the premise
    socket.receive(writeSyncUpdate(HOSTILE_UPDATE))
    expect(escaped).toEqual([])
    expect(socket.closed).toBe(true)
    const error = events.connectionErrors.at(-1) as ProtocolError
    expect(error).toBeInstanceOf(ProtocolError)
    expect(error.reason).toBe('invalid-update')
    expect(events.statuses.at(-1)).toMatchObject({ status: 'disconnected' })
    expect(events.statuses.at(-1)!.permanent).toBeUndefined()
    vi.advanceTimersByTime(100)
    lastSocket().sync(textUpdate('more', 77))
    expect(provider.synced).toBe(true)
    expect(text(provider)).toContain('kept')
    expect(text(provider)).toContain('more')
  })

  it('an update that leaves the Y.Doc unusable (gc on): stops for good and says why, never throws', () => {
    const { socket, events } = syncedProvider()
    socket.receive(writeSyncUpdate(HOSTILE_UPDATE))
    expect(escaped).toEqual([])
    expect(socket.closed).toBe(true)
    const error = events.connectionErrors.at(-1) as ProtocolError
    expect(error.reason).toBe('doc-broken')
    expect(events.statuses.at(-1)).toMatchObject({ status: 'disconnected', permanent: true })
    vi.advanceTimersByTime(60_000)
    expect(sockets).toHaveLength(1)
  })

  it('an update Yjs throws on in sync step 2 is no sync: "synced" stays false and the backoff is not reset', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999)
    const doc = new Y.Doc({ gc: false })
    const provider = makeProvider({ doc })
    const events = record(provider)
    const synced: boolean[] = []
    provider.on('synced', (s) => synced.push(s))
    lastSocket().serverClose() // one failed attempt: the next delay's ceiling is 200 ms
    expect(events.statuses.at(-1)!.retryInMs).toBe(99)
    vi.advanceTimersByTime(99)
    lastSocket().open()
    lastSocket().receive(writeSyncStep2(HOSTILE_UPDATE))
    expect(escaped).toEqual([])
    expect(synced).toEqual([])
    expect((events.connectionErrors.at(-1) as ProtocolError).reason).toBe('invalid-update')
    expect(events.statuses.at(-1)).toMatchObject({ status: 'disconnected', retryInMs: 199 })
  })

  it('does not loop hot on a server that sends a bad frame right after every sync: the backoff keeps growing', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999)
    const provider = makeProvider()
    const events = record(provider)
    const delays: number[] = []
    for (let round = 0; round < 6; round++) {
      lastSocket().sync()
      lastSocket().receive(new Uint8Array([1, 5, 1, 2])) // awareness whose update runs past the frame
      const retry = events.statuses.at(-1)!.retryInMs!
      delays.push(retry)
      vi.advanceTimersByTime(retry)
    }
    expect(escaped).toEqual([])
    expect(delays).toEqual([99, 199, 399, 799, 999, 999])
    expect(sockets).toHaveLength(7)
  })

  it('a throwing application listener is reported, not thrown, and does not cost the connection', () => {
    const { provider, socket, events } = syncedProvider()
    provider.awareness.on('change', ({ added }: { added: number[] }) => {
      if (added.includes(401)) throw new Error('app bug')
    })
    socket.receive(writeAwareness(awarenessUpdate([{ id: 401, clock: 1, state: '{}' }])))
    expect(escaped).toEqual([])
    expect(events.listenerErrors).toEqual([new Error('app bug')])
    expect(peers(provider)).toEqual([401])
    expect(provider.status).toBe('connected')
    expect(socket.closed).toBe(false)
  })

  it('logs a throwing listener when nothing listens for listener-error', () => {
    const provider = makeProvider()
    const log = vi.spyOn(console, 'error').mockImplementation(() => {})
    provider.on('synced', (synced) => {
      if (synced) throw new Error('app bug')
    })
    lastSocket().sync()
    expect(escaped).toEqual([])
    expect(log).toHaveBeenCalledOnce()
    expect(provider.status).toBe('connected')
  })
})
