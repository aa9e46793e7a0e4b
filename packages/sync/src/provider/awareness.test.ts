/** SyncProvider's presence over the server: remote states, its own state, leaving. */
import { describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness'
import { readAwarenessUpdate, writeAwareness, writeQueryAwareness } from '../protocol/frame.js'
import { KEEP_ALIVE, expectNextAttemptAfter, lastSocket, makeProvider, useFakeSockets } from './testing/fake-socket.js'

useFakeSockets()

describe('awareness', () => {
  function remotePeer(name: string): { update: Uint8Array; clientID: number } {
    const peer = new Awareness(new Y.Doc())
    peer.setLocalStateField('user', { name })
    const update = encodeAwarenessUpdate(peer, [peer.clientID])
    peer.destroy()
    return { update, clientID: peer.clientID }
  }

  it('applies remote states and forgets them when the connection closes', () => {
    const provider = makeProvider()
    provider.awareness.setLocalStateField('user', { name: 'me' })
    const peer = remotePeer('them')
    lastSocket().sync()
    lastSocket().receive(writeAwareness(peer.update))
    expect(provider.awareness.getStates().get(peer.clientID)).toEqual({ user: { name: 'them' } })

    lastSocket().serverClose(1006)
    expect(provider.awareness.getStates().has(peer.clientID)).toBe(false)
    expect(provider.awareness.getLocalState()).toEqual({ user: { name: 'me' } })
  })

  it('shows a peer again when the server replays its unchanged state after a reconnect', () => {
    // Root cause: removeAwarenessStates keeps the peer's clock, and applyAwarenessUpdate ignores
    // a state whose clock is not newer, so the replayed state was dropped until the peer's next
    // renewal (up to 15 s). The provider now forgets remote clocks when it goes offline.
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const provider = makeProvider()
    const peer = remotePeer('them')
    lastSocket().sync()
    lastSocket().receive(writeAwareness(peer.update))
    lastSocket().serverClose(1006)
    expectNextAttemptAfter(0)
    lastSocket().sync()
    lastSocket().receive(writeAwareness(peer.update))
    expect(provider.awareness.getStates().get(peer.clientID)).toEqual({ user: { name: 'them' } })
  })

  it('announces its own state with a newer clock on every connection', () => {
    // Root cause: a server that removed our state when the last connection closed keeps our
    // clock, and ignores the same state re-sent with the same clock.
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const provider = makeProvider()
    provider.awareness.setLocalStateField('user', { name: 'me' })
    const clocks: number[] = []
    for (let i = 0; i < 2; i++) {
      if (i > 0) expectNextAttemptAfter(0)
      lastSocket().sync()
      const [entry] = readAwarenessUpdate(lastSocket().framesOfType('awareness')[0]!.update)
      expect(entry).toMatchObject({ clientID: provider.awareness.clientID, state: { user: { name: 'me' } } })
      clocks.push(entry!.clock)
      lastSocket().serverClose(1006)
    }
    expect(clocks[1]).toBeGreaterThan(clocks[0]!)
  })

  it('treats the keep-alive (an empty awareness update) as a no-op', () => {
    const provider = makeProvider()
    lastSocket().sync()
    const changes = vi.fn()
    provider.awareness.on('update', changes)
    lastSocket().receive(KEEP_ALIVE)
    expect(changes).not.toHaveBeenCalled()
    expect(provider.status).toBe('connected')
  })

  it('sends its own changes, never echoes remote ones, and answers query-awareness with every state', () => {
    const provider = makeProvider()
    const socket = lastSocket()
    socket.sync()
    const peer = remotePeer('them')
    socket.receive(writeAwareness(peer.update))
    expect(socket.framesOfType('awareness')).toHaveLength(1) // the state sent on open

    provider.awareness.setLocalStateField('cursor', 3)
    const sent = socket.framesOfType('awareness')
    expect(sent).toHaveLength(2)
    expect(readAwarenessUpdate(sent[1]!.update)).toEqual([
      { clientID: provider.awareness.clientID, clock: expect.any(Number) as number, state: { cursor: 3 } },
    ])

    socket.receive(writeQueryAwareness())
    const answer = socket.framesOfType('awareness').at(-1)!
    expect(new Set(readAwarenessUpdate(answer.update).map((e) => e.clientID))).toEqual(
      new Set([provider.awareness.clientID, peer.clientID]),
    )
  })

  it('tells peers it left before closing on disconnect()', () => {
    const provider = makeProvider()
    provider.awareness.setLocalStateField('user', { name: 'me' })
    const socket = lastSocket()
    socket.sync()
    provider.disconnect()
    const last = socket.framesOfType('awareness').at(-1)!
    expect(readAwarenessUpdate(last.update)).toEqual([
      { clientID: provider.awareness.clientID, clock: expect.any(Number) as number, state: null },
    ])
    expect(socket.closedWith?.code).toBe(1000)
    // The local state is kept for the next connect().
    expect(provider.awareness.getLocalState()).toEqual({ user: { name: 'me' } })
  })
})
