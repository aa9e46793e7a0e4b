/** SyncProvider's lifecycle: connecting (URL, first frames, options) and destroy() (nothing left behind). */
import { describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { Awareness } from 'y-protocols/awareness'
import { readAwarenessUpdate } from '../protocol/frame.js'
import { SyncProvider } from './provider.js'
import { FakeWebSocket, lastSocket, makeProvider, observerCount, providers, recordStatus, sockets, useFakeSockets } from './testing/fake-socket.js'

useFakeSockets()

describe('connecting', () => {
  it('connects to <base>/<encoded room>?params&token with binaryType arraybuffer', () => {
    const provider = makeProvider({ url: 'ws://server.test/', room: 'a b/ç', params: { v: '1' }, token: 't.k' })
    expect(lastSocket().url).toBe('ws://server.test/a%20b%2F%C3%A7?v=1&token=t.k')
    expect(lastSocket().binaryType).toBe('arraybuffer')
    expect(provider.status).toBe('connecting')
  })

  it('on open sends sync step 1, then its awareness state, then reports connected', () => {
    const doc = new Y.Doc()
    doc.getText('t').insert(0, 'hello')
    const provider = makeProvider({ doc, connect: false })
    provider.awareness.setLocalStateField('user', { name: 'ada' })
    const statuses = recordStatus(provider)
    provider.connect()
    lastSocket().open()

    const [step1, awareness, ...rest] = lastSocket().frames()
    expect(step1).toEqual({ type: 'sync-step1', stateVector: Y.encodeStateVector(doc) })
    expect(awareness?.type).toBe('awareness')
    if (awareness?.type !== 'awareness') return
    expect(readAwarenessUpdate(awareness.update)).toEqual([
      { clientID: doc.clientID, clock: expect.any(Number) as number, state: { user: { name: 'ada' } } },
    ])
    expect(rest).toEqual([])
    expect(statuses.map((e) => e.status)).toEqual(['connecting', 'connected'])
    expect(provider.status).toBe('connected')
  })

  it('with connect: false opens nothing until connect()', () => {
    const provider = makeProvider({ connect: false })
    vi.advanceTimersByTime(60_000)
    expect(sockets).toHaveLength(0)
    expect(provider.status).toBe('disconnected')
    provider.connect()
    expect(sockets).toHaveLength(1)
  })

  it('refuses to start without a WebSocket implementation, leaving nothing behind', () => {
    vi.stubGlobal('WebSocket', undefined)
    expect(() => new SyncProvider({ url: 'ws://x', room: 'r', doc: new Y.Doc() })).toThrow(/WebSocket/)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('uses globalThis.WebSocket by default', () => {
    vi.stubGlobal('WebSocket', FakeWebSocket)
    providers.push(new SyncProvider({ url: 'ws://x', room: 'r', doc: new Y.Doc() }))
    expect(lastSocket().url).toBe('ws://x/r')
  })
})

describe('destroy()', () => {
  it('leaves no timers and no listeners behind (awareness created by the provider)', () => {
    const doc = new Y.Doc()
    const updateObservers = observerCount(doc) // the doc's own; the provider adds its 'update' one
    const provider = makeProvider({ doc })
    provider.awareness.setLocalStateField('user', { name: 'me' })
    const socket = lastSocket()
    socket.sync()
    expect(vi.getTimerCount()).toBeGreaterThan(0)
    expect(doc._observers.get('update')?.size).toBe(1)

    provider.destroy()
    expect(vi.getTimerCount()).toBe(0)
    expect(doc._observers.get('update')?.size ?? 0).toBe(0)
    // y-protocols' Awareness registers doc.on('destroy') and never removes it; nothing else is left.
    expect(observerCount(doc)).toBe(updateObservers + 1)
    expect(observerCount(provider.awareness)).toBe(0)
    expect([socket.onopen, socket.onmessage, socket.onclose]).toEqual([null, null, null])
    expect(socket.closedWith?.code).toBe(1000)
    expect(readAwarenessUpdate(socket.framesOfType('awareness').at(-1)!.update)[0]?.state).toBeNull()
    expect(provider.status).toBe('disconnected')

    provider.destroy() // idempotent
    provider.connect() // and final
    expect(sockets).toHaveLength(1)
  })

  it('restores observer counts exactly and leaves a caller-owned awareness alive', () => {
    const doc = new Y.Doc()
    const awareness = new Awareness(doc)
    awareness.setLocalStateField('user', { name: 'me' })
    const baseline = { doc: observerCount(doc), awareness: observerCount(awareness), timers: vi.getTimerCount() }
    const provider = makeProvider({ doc, awareness })
    lastSocket().sync()
    expect(observerCount(doc)).toBeGreaterThan(baseline.doc)
    expect(observerCount(awareness)).toBeGreaterThan(baseline.awareness)

    provider.destroy()
    expect(observerCount(doc)).toBe(baseline.doc)
    expect(observerCount(awareness)).toBe(baseline.awareness)
    expect(vi.getTimerCount()).toBe(baseline.timers)
    expect(awareness.getLocalState()).toEqual({ user: { name: 'me' } })
    awareness.destroy()
  })

  it('cleans up even when a listener throws during the final disconnect', () => {
    const doc = new Y.Doc()
    const provider = makeProvider({ doc })
    lastSocket().sync()
    provider.on('status', () => {
      throw new Error('app bug')
    })
    expect(() => provider.destroy()).toThrow('app bug')
    expect(vi.getTimerCount()).toBe(0)
    expect(doc._observers.get('update')?.size ?? 0).toBe(0)
  })

  it('cancels a pending backoff timer', () => {
    const provider = makeProvider()
    lastSocket().serverClose(1006)
    expect(vi.getTimerCount()).toBe(2) // the retry + the awareness interval
    provider.destroy()
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(60_000)
    expect(sockets).toHaveLength(1)
  })

  it('abandons an attempt whose token is still pending', async () => {
    let resolve: (token: string) => void = () => {}
    const provider = makeProvider({ token: () => new Promise<string>((r) => (resolve = r)) })
    provider.destroy()
    resolve('late')
    await vi.advanceTimersByTimeAsync(0)
    expect(sockets).toHaveLength(0)
    expect(vi.getTimerCount()).toBe(0)
  })
})
