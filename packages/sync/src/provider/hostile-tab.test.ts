/**
 * Hostile messages from another tab against SyncProvider: whatever another page of the origin
 * posts on the tab channel is validated, dropped and reported when bad, and never throws out
 * of the channel's handler. The fake channel delivers synchronously, so a throw out of a
 * handler lands in `escaped` (testing/hostile-fakes.ts).
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { ProtocolError } from '../protocol/errors.js'
import type { SyncProvider, SyncProviderOptions } from './provider.js'
import { MAX_TAB_MESSAGE_BYTES } from './tabs.js'
import { FakeChannel, type Recorded, channels, escaped, lastSocket, makeProvider, peers, record, text, useHostileFakes } from './testing/hostile-fakes.js'
import { HOSTILE_UPDATE, awarenessUpdate, deepArray, state, textUpdate } from './testing/hostile-payloads.js'

useHostileFakes()

describe('hostile messages from another tab', () => {
  function tab(options: Partial<SyncProviderOptions> = {}): { provider: SyncProvider; channel: FakeChannel; events: Recorded } {
    const provider = makeProvider({ crossTab: true, BroadcastChannel: FakeChannel, connect: false, ...options })
    return { provider, channel: channels.at(-1)!, events: record(provider) }
  }

  it('drops junk of every kind without throwing, and still applies the next valid message', () => {
    const { provider, channel, events } = tab()
    const marker = textUpdate('marker')
    const throwingGetter = {
      v: 1,
      get t(): string {
        throw new Error('getter')
      },
    }
    const junk: unknown[] = [
      undefined,
      null,
      42,
      'text',
      new Uint8Array([0, 0, 1]),
      throwingGetter,
      new Proxy({}, { get: () => { throw new Error('proxy') } }),
      { v: 1, t: 'update', update: 'not bytes', relay: false },
      { v: 1, t: 'update', update: new Uint8Array([0, 2, 5, 1]), relay: true }, // truncated
      { v: 1, t: 'update', update: { length: 3, 0: 1 }, relay: true },
      { v: 1, t: 'update', update: new Uint16Array(4), relay: true },
      { v: 1, t: 'hello', from: 'x', sv: new Uint8Array([5, 1]) },
      { v: 1, t: 'hello', from: 'x'.repeat(10_000), sv: new Uint8Array([0]) },
      { v: 1, t: 'welcome', to: channel.tabId, update: new Uint8Array([9, 9, 9]), sv: new Uint8Array([0]), relay: false },
      { v: 1, t: 'awareness', update: new Uint8Array([1, 7, 1, 1, 0x7b]) },
      { v: 1, t: 'awareness', update: 'bytes?' },
    ]
    for (const data of junk) channel.deliver(data)
    expect(escaped).toEqual([])
    expect(text(provider)).toBe('')
    expect(events.dropped.length).toBeGreaterThanOrEqual(8)
    expect(events.dropped.every((d) => d.source === 'tab' && d.error instanceof ProtocolError)).toBe(true)
    channel.deliver({ v: 1, t: 'update', update: marker, relay: false })
    expect(text(provider)).toBe('marker')
  })

  it(`drops a message carrying more than ${MAX_TAB_MESSAGE_BYTES / 2 ** 20} MiB without parsing it`, () => {
    const { provider, channel, events } = tab()
    const valid = textUpdate('too big')
    const huge = new Uint8Array(MAX_TAB_MESSAGE_BYTES + 1)
    huge.set(valid) // Yjs ignores the zero padding: without the bound this would apply
    channel.deliver({ v: 1, t: 'update', update: huge, relay: false })
    expect(escaped).toEqual([])
    expect(text(provider)).toBe('')
    expect(events.dropped.map((d) => d.error.reason)).toEqual(['too-big'])
  })

  it('a deep presence state from a tab is dropped; the other entries apply', () => {
    const { provider, channel, events } = tab()
    for (const clock of [1, 2]) {
      channel.deliver({
        v: 1,
        t: 'awareness',
        update: awarenessUpdate([
          { id: 501, clock, state: deepArray(30_000) },
          { id: 502, clock, state: state('{"tab":true}') },
          { id: 503, clock: 2n ** 64n, state: '{}' },
        ]),
      })
    }
    expect(escaped).toEqual([])
    expect(peers(provider)).toEqual([502])
    expect(events.dropped).toHaveLength(2)
  })

  it('ignores what a tab says about this tab\'s own presence', () => {
    const { provider, channel } = tab()
    provider.awareness.setLocalState({ user: 'me' })
    const own = provider.awareness.clientID
    channel.deliver({ v: 1, t: 'awareness', update: awarenessUpdate([{ id: own, clock: 2 ** 53 - 2, state: '{"user":"spoofed"}' }]) })
    expect(escaped).toEqual([])
    expect(provider.awareness.getLocalState()).toEqual({ user: 'me' })
    expect(provider.awareness.meta.get(own)!.clock).toBeLessThan(10)
  })

  it('an update Yjs throws on, from a tab: dropped (gc off), or the provider stops for good (gc on)', () => {
    const a = tab({ doc: new Y.Doc({ gc: false }) })
    a.channel.deliver({ v: 1, t: 'update', update: HOSTILE_UPDATE, relay: true })
    expect(escaped).toEqual([])
    expect(a.events.dropped.map((d) => d.error.reason)).toEqual(['invalid-update'])
    a.channel.deliver({ v: 1, t: 'update', update: textUpdate('after'), relay: false })
    expect(text(a.provider)).toBe('after')

    const b = tab({ connect: true })
    lastSocket().sync()
    b.channel.deliver({ v: 1, t: 'update', update: HOSTILE_UPDATE, relay: true })
    expect(escaped).toEqual([])
    expect((b.events.connectionErrors.at(-1) as ProtocolError).reason).toBe('doc-broken')
    expect(b.events.statuses.at(-1)).toMatchObject({ status: 'disconnected', permanent: true })
    expect(b.provider.status).toBe('disconnected')
  })
})
