/**
 * Cross-tab sync over a real BroadcastChannel (Node's, which delivers between instances of one
 * process like a browser does between tabs). The server side is a scriptable fake socket.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness'
import { type Frame, readFrame, writeAuthDenied, writeAwareness, writeSaved } from '../protocol/frame.js'
import { SAVED_ACK_PROTOCOL } from '../protocol/message-type.js'
import { SyncProvider, type SyncProviderOptions } from './provider.js'
import { tabChannelName } from './tabs.js'
import { broadcastChannelFor } from './runtime.js'

class FakeSocket {
  binaryType = 'blob'
  readyState = 0
  protocol = ''
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number; reason: string }) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  readonly sent: Uint8Array[] = []

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    sockets.push(this)
  }

  send(data: Uint8Array): void {
    this.sent.push(data.slice())
  }

  close(): void {
    this.readyState = 3
  }

  /** Opens like our server: subprotocol selected, hello first. */
  openWithHello(): void {
    this.protocol = SAVED_ACK_PROTOCOL
    this.readyState = 1
    this.onopen?.({})
    this.receive(writeSaved(0))
  }

  receive(data: Uint8Array): void {
    this.onmessage?.({ data: data.slice().buffer })
  }

  serverClose(): void {
    this.readyState = 3
    this.onclose?.({ code: 1006, reason: '' })
  }

  syncUpdates(): Extract<Frame, { type: 'sync-update' }>[] {
    return this.sent.map((b) => readFrame(b)).filter((f): f is Extract<Frame, { type: 'sync-update' }> => f.type === 'sync-update')
  }
}

let sockets: FakeSocket[] = []
let roomSeq = 0
const cleanups: (() => void)[] = []

afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c()
  sockets = []
  vi.unstubAllGlobals()
})

/** A "tab": a provider with cross-tab sync on, no retries, not connected until connectTab(). */
function tab(room: string, options: Partial<SyncProviderOptions> = {}): SyncProvider {
  const p = new SyncProvider({
    url: 'ws://tabs.test',
    room,
    doc: new Y.Doc(),
    WebSocket: FakeSocket,
    crossTab: true,
    connect: false,
    deadLinkTimeoutMs: Infinity,
    initialBackoffMs: 60_000,
    maxBackoffMs: 60_000,
    ...options,
  })
  cleanups.push(() => p.destroy())
  return p
}

/** Connects a tab to our (fake) server: subprotocol selected, hello received. */
function connectTab(p: SyncProvider): FakeSocket {
  p.connect()
  const socket = sockets.at(-1)!
  socket.openWithHello()
  return socket
}

/** Waits for a condition that another "tab" makes true asynchronously; fails after `ms`. */
async function until(what: string, predicate: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 2))
  }
}

const text = (p: SyncProvider): string => p.doc.getText('t').toString()
const newRoom = (): string => `tabs-${process.pid}-${++roomSeq}`

describe('cross-tab sync (BroadcastChannel)', () => {
  it('shares edits between tabs without any server; only the tab that made an edit counts it', async () => {
    const room = newRoom()
    const a = tab(room)
    const b = tab(room)
    a.doc.getText('t').insert(0, 'hello')
    await until('B to see A', () => text(b) === 'hello')
    expect(a.unsavedChanges).toBe(1)
    expect(b.unsavedChanges).toBe(0)
    b.doc.getText('t').insert(5, ' world')
    await until('A to see B', () => text(a) === 'hello world')
    expect(a.unsavedChanges).toBe(1)
    expect(b.unsavedChanges).toBe(1)
  })

  it('catches a tab opened later up, and gives the other tabs what it brought', async () => {
    const room = newRoom()
    const a = tab(room)
    a.doc.getText('t').insert(0, '[A]')
    const docB = new Y.Doc()
    docB.getText('t').insert(0, '[B]') // e.g. restored from this device's storage
    const b = tab(room, { doc: docB })
    await until('both to hold both', () => [a, b].every((p) => text(p).includes('[A]') && text(p).includes('[B]')))
    expect(text(a)).toBe(text(b))
  })

  it('does not mix rooms or servers', async () => {
    const room = newRoom()
    const a = tab(room)
    const other = tab(`${room}-other`)
    const otherServer = tab(room, { url: 'ws://elsewhere.test' })
    const witness = tab(room)
    a.doc.getText('t').insert(0, 'only here')
    await until('the same room to see it', () => text(witness) === 'only here')
    expect(text(other)).toBe('')
    expect(text(otherServer)).toBe('')
  })

  it('forwards to the server an edit made in a tab that cannot reach it, and only such an edit', async () => {
    const room = newRoom()
    const offline = tab(room)
    const online = tab(room)
    const onlineSocket = connectTab(online)
    offline.doc.getText('t').insert(0, 'typed offline')
    await until('the connected tab to forward it', () => onlineSocket.syncUpdates().length === 1)
    const server = new Y.Doc()
    Y.applyUpdate(server, onlineSocket.syncUpdates()[0]!.update)
    expect(server.getText('t').toString()).toBe('typed offline')
    // The forwarding tab does not count it (the other tab does)…
    expect(online.unsavedChanges).toBe(0)
    expect(offline.unsavedChanges).toBe(1)
    // …but numbers the message like the server does: Saved(1) is valid, not a lie.
    onlineSocket.receive(writeSaved(1))
    expect(online.status).toBe('connected')

    // Once the first tab is connected too, it sends its own edits; nobody else repeats them.
    const offlineSocket = connectTab(offline)
    offline.doc.getText('t').insert(0, '>')
    await until('the other tab to see it', () => text(online) === '>typed offline')
    expect(offlineSocket.syncUpdates()).toHaveLength(1)
    expect(onlineSocket.syncUpdates()).toHaveLength(1)
  })

  it('never forwards on a connection the server refused writes on (read-only)', async () => {
    const room = newRoom()
    const writer = tab(room)
    const viewer = tab(room)
    const viewerSocket = connectTab(viewer)
    viewerSocket.receive(writeAuthDenied('read-only'))
    writer.doc.getText('t').insert(0, 'x')
    await until('the viewer to see it', () => text(viewer) === 'x')
    expect(viewerSocket.syncUpdates()).toEqual([])
  })

  it('shares presence; keeps other tabs when the server goes away; drops a tab that is destroyed', async () => {
    const room = newRoom()
    const a = tab(room)
    const b = tab(room)
    a.awareness.setLocalStateField('user', { name: 'ada' })
    await until('B to see A', () => b.awareness.getStates().has(a.awareness.clientID))

    // B also knows a remote peer through the server; losing the server forgets only that one.
    const bSocket = connectTab(b)
    const remote = new Awareness(new Y.Doc())
    remote.setLocalStateField('user', { name: 'far away' })
    bSocket.receive(writeAwareness(encodeAwarenessUpdate(remote, [remote.clientID])))
    remote.destroy()
    expect(b.awareness.getStates().has(remote.clientID)).toBe(true)
    bSocket.serverClose()
    expect(b.awareness.getStates().has(remote.clientID)).toBe(false)
    expect(b.awareness.getStates().has(a.awareness.clientID)).toBe(true)

    a.destroy()
    await until('A to leave B', () => !b.awareness.getStates().has(a.awareness.clientID))
  })

  it('ignores malformed or foreign messages on the channel', async () => {
    const room = newRoom()
    const a = tab(room)
    const intruder = new BroadcastChannel(tabChannelName('ws://tabs.test', room))
    cleanups.push(() => intruder.close())
    const marker = new Y.Doc()
    marker.getText('t').insert(0, 'marker')
    for (const junk of [
      null,
      'text',
      { v: 2, t: 'update', update: Y.encodeStateAsUpdate(marker), relay: false },
      { v: 1, t: 'update', update: new Uint8Array([0, 2, 5, 1]), relay: true }, // truncated update
      { v: 1, t: 'update', update: [1, 2, 3], relay: true },
      { v: 1, t: 'hello', from: 'x', sv: new Uint8Array([5, 1]) },
      { v: 1, t: 'awareness', update: new Uint8Array([1, 7, 1, 1, 0x7b]) }, // bad JSON
    ]) {
      intruder.postMessage(junk)
    }
    intruder.postMessage({ v: 1, t: 'update', update: Y.encodeStateAsUpdate(marker), relay: false })
    await until('the valid message after the junk', () => text(a) === 'marker')
    expect(a.awareness.getStates().size).toBe(1)
  })

  it('closes its channel on destroy()', async () => {
    const channels: { closed: boolean }[] = []
    class Recording extends BroadcastChannel {
      closed = false
      constructor(name: string) {
        super(name)
        channels.push(this)
      }
      override close(): void {
        this.closed = true
        super.close()
      }
    }
    const room = newRoom()
    const a = tab(room, { BroadcastChannel: Recording })
    const b = tab(room)
    const witness = tab(room)
    a.destroy()
    expect(channels).toHaveLength(1)
    expect(channels[0]!.closed).toBe(true)
    b.doc.getText('t').insert(0, 'after')
    await until('a tab still open to see the edit', () => text(witness) === 'after')
    expect(text(a)).toBe('')
  })

  it('is off by default outside browsers, on in them, and can be turned off', () => {
    expect(broadcastChannelFor(undefined, undefined)).toBeUndefined()
    expect(broadcastChannelFor(true, undefined)).toBe(BroadcastChannel)
    vi.stubGlobal('window', new EventTarget())
    expect(broadcastChannelFor(undefined, undefined)).toBe(BroadcastChannel)
    expect(broadcastChannelFor(false, undefined)).toBeUndefined()
    vi.stubGlobal('BroadcastChannel', undefined)
    expect(broadcastChannelFor(undefined, undefined)).toBeUndefined()
    expect(broadcastChannelFor(true, undefined)).toBeUndefined()
  })
})
