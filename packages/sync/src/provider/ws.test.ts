/**
 * SyncProvider over real sockets (the `ws` package) against a minimal y-websocket-protocol relay
 * written here with y-protocols, so the provider is checked against the protocol itself rather
 * than against our own server's interpretation of it.
 */
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'
import * as awarenessProtocol from 'y-protocols/awareness'
import { SyncProvider, type WebSocketConstructor } from './provider.js'
import { SAVED_ACK_PROTOCOL } from '../protocol/message-type.js'

// ---------------------------------------------------------------------------------------------
// The relay: one Y.Doc + Awareness per room, kept across restarts (like a server with storage).

interface RelayRoom {
  doc: Y.Doc
  awareness: awarenessProtocol.Awareness
  /** connection → awareness client ids it announced, removed when it closes */
  conns: Map<WebSocket, Set<number>>
}

interface Relay {
  port: number
  close(): Promise<void>
}

const frame = (write: (e: encoding.Encoder) => void): Uint8Array => {
  const e = encoding.createEncoder()
  write(e)
  return encoding.toUint8Array(e)
}

const awarenessFrame = (awareness: awarenessProtocol.Awareness, clients: number[]): Uint8Array =>
  frame((e) => {
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, clients))
  })

function relayRoom(rooms: Map<string, RelayRoom>, name: string): RelayRoom {
  const existing = rooms.get(name)
  if (existing !== undefined) return existing
  const doc = new Y.Doc()
  const awareness = new awarenessProtocol.Awareness(doc)
  awareness.setLocalState(null) // the relay itself is not a participant
  const room: RelayRoom = { doc, awareness, conns: new Map() }
  doc.on('update', (update: Uint8Array, origin: unknown) => {
    const bytes = frame((e) => {
      encoding.writeVarUint(e, 0)
      syncProtocol.writeUpdate(e, update)
    })
    for (const ws of room.conns.keys()) if (ws !== origin) ws.send(bytes)
  })
  awareness.on('update', ({ added, updated, removed }: Record<'added' | 'updated' | 'removed', number[]>, origin: unknown) => {
    const changed = [...added, ...updated, ...removed]
    const owned = origin instanceof WebSocket ? room.conns.get(origin) : undefined
    if (owned !== undefined) {
      for (const id of [...added, ...updated]) owned.add(id)
      for (const id of removed) owned.delete(id)
    }
    const bytes = awarenessFrame(awareness, changed)
    for (const ws of room.conns.keys()) if (ws !== origin) ws.send(bytes)
  })
  rooms.set(name, room)
  return room
}

/**
 * `echoProtocol`: select the client's first offered subprotocol, as ws-based servers that do not
 * know it may do (ws' default handleProtocols). Otherwise select none.
 */
async function startRelay(port: number, rooms: Map<string, RelayRoom>, echoProtocol = false): Promise<Relay> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port,
    handleProtocols: (offered: Set<string>) => (echoProtocol ? ([...offered][0] ?? false) : false),
  })
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve)
    wss.once('error', reject)
  })
  wss.on('connection', (ws, req) => {
    const room = relayRoom(rooms, decodeURIComponent((req.url ?? '/').slice(1).split('?')[0]!))
    room.conns.set(ws, new Set())
    ws.on('message', (data: Buffer) => {
      const decoder = decoding.createDecoder(new Uint8Array(data))
      const type = decoding.readVarUint(decoder)
      if (type === 0) {
        const encoder = encoding.createEncoder()
        encoding.writeVarUint(encoder, 0)
        syncProtocol.readSyncMessage(decoder, encoder, room.doc, ws)
        if (encoding.length(encoder) > 1) ws.send(encoding.toUint8Array(encoder))
      } else if (type === 1) {
        awarenessProtocol.applyAwarenessUpdate(room.awareness, decoding.readVarUint8Array(decoder), ws)
      } else if (type === 3) {
        ws.send(awarenessFrame(room.awareness, [...room.awareness.getStates().keys()]))
      }
    })
    ws.on('close', () => {
      const owned = room.conns.get(ws)
      room.conns.delete(ws)
      if (owned !== undefined) awarenessProtocol.removeAwarenessStates(room.awareness, [...owned], null)
    })
    ws.send(frame((e) => {
      encoding.writeVarUint(e, 0)
      syncProtocol.writeSyncStep1(e, room.doc)
    }))
    const present = [...room.awareness.getStates().keys()]
    if (present.length > 0) ws.send(awarenessFrame(room.awareness, present))
  })
  const address = wss.address()
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
  return {
    port: address.port,
    // Terminate, not close: this simulates the server process dying under its clients.
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate()
        wss.close(() => resolve())
      }),
  }
}

// ---------------------------------------------------------------------------------------------
// Awaiting events with a timeout.

type Subscribe = (notify: () => void) => () => void

const onDoc = (doc: Y.Doc): Subscribe => (notify) => {
  doc.on('update', notify)
  return () => doc.off('update', notify)
}
const onAwareness = (awareness: awarenessProtocol.Awareness): Subscribe => (notify) => {
  awareness.on('change', notify)
  return () => awareness.off('change', notify)
}
const onProvider = (provider: SyncProvider): Subscribe => (notify) => {
  provider.on('status', notify)
  provider.on('synced', notify)
  return () => {
    provider.off('status', notify)
    provider.off('synced', notify)
  }
}

function until(what: string, predicate: () => boolean, sources: Subscribe[], timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const unsubscribes: (() => void)[] = []
    const finish = (error?: Error): void => {
      clearTimeout(timer)
      for (const unsubscribe of unsubscribes) unsubscribe()
      if (error === undefined) resolve()
      else reject(error)
    }
    const check = (): void => {
      if (predicate()) finish()
    }
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs)
    for (const subscribe of sources) unsubscribes.push(subscribe(check))
    check()
  })
}

// ---------------------------------------------------------------------------------------------

const cleanups: (() => void | Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function client(port: number, room: string, Impl: WebSocketConstructor = WebSocket): { doc: Y.Doc; provider: SyncProvider } {
  const doc = new Y.Doc()
  const provider = new SyncProvider({
    url: `ws://127.0.0.1:${port}`,
    room,
    doc,
    WebSocket: Impl, // ws's class, passed without a cast
    initialBackoffMs: 20,
    maxBackoffMs: 200,
  })
  cleanups.push(() => provider.destroy())
  return { doc, provider }
}

const userName = (awareness: awarenessProtocol.Awareness, clientID: number): unknown =>
  (awareness.getStates().get(clientID) as { user?: { name?: unknown } } | undefined)?.user?.name

describe('SyncProvider against a y-websocket relay over real sockets', () => {
  it('converges, carries awareness, and recovers from a server restart with edits on every side', async () => {
    const rooms = new Map<string, RelayRoom>()
    cleanups.push(() => {
      for (const room of rooms.values()) room.doc.destroy()
    })
    let relay = await startRelay(0, rooms)
    cleanups.push(() => relay.close())
    const port = relay.port
    const room = 'notes/1 ü'
    const a = client(port, room)
    const b = client(port, room)
    const textA = a.doc.getText('t')
    const textB = b.doc.getText('t')

    await until('both synced', () => a.provider.synced && b.provider.synced, [onProvider(a.provider), onProvider(b.provider)])
    expect(rooms.has(room)).toBe(true) // the room name survived percent-encoding

    textA.insert(0, 'hello')
    await until('B to see A', () => textB.toString() === 'hello', [onDoc(b.doc)])
    textB.insert(5, ' world')
    await until('A to see B', () => textA.toString() === 'hello world', [onDoc(a.doc)])

    a.provider.awareness.setLocalStateField('user', { name: 'ada' })
    b.provider.awareness.setLocalStateField('user', { name: 'bob' })
    await until(
      'awareness to cross',
      () => userName(b.provider.awareness, a.doc.clientID) === 'ada' && userName(a.provider.awareness, b.doc.clientID) === 'bob',
      [onAwareness(a.provider.awareness), onAwareness(b.provider.awareness)],
    )

    // The server dies. Clients notice, forget each other's presence, and keep editing.
    await relay.close()
    await until(
      'both to notice',
      () => a.provider.status !== 'connected' && b.provider.status !== 'connected',
      [onProvider(a.provider), onProvider(b.provider)],
    )
    expect(a.provider.synced).toBe(false)
    expect(a.provider.awareness.getStates().has(b.doc.clientID)).toBe(false)
    textA.insert(0, '[A] ')
    textB.insert(textB.length, ' [B]')
    rooms.get(room)!.doc.getText('t').insert(0, '[S] ') // another writer, applied server-side meanwhile

    relay = await startRelay(port, rooms)
    const serverText = rooms.get(room)!.doc.getText('t')
    await until(
      'all three to converge',
      () => {
        const s = textA.toString()
        return s === textB.toString() && s === serverText.toString() && ['[A]', '[B]', '[S]', 'hello world'].every((p) => s.includes(p))
      },
      [onDoc(a.doc), onDoc(b.doc), onDoc(rooms.get(room)!.doc)],
    )
    expect(a.provider.status).toBe('connected')
    expect(b.provider.synced).toBe(true)
    // Well before the 15 s awareness renewal: the provider re-announces itself on connect.
    await until(
      'awareness to return',
      () => userName(b.provider.awareness, a.doc.clientID) === 'ada' && userName(a.provider.awareness, b.doc.clientID) === 'bob',
      [onAwareness(a.provider.awareness), onAwareness(b.provider.awareness)],
      5_000,
    )
  })

  it('tells peers it left when destroyed', async () => {
    const rooms = new Map<string, RelayRoom>()
    const relay = await startRelay(0, rooms)
    cleanups.push(() => relay.close())
    const a = client(relay.port, 'r')
    const b = client(relay.port, 'r')
    a.provider.awareness.setLocalStateField('user', { name: 'ada' })
    await until('B to see A', () => userName(b.provider.awareness, a.doc.clientID) === 'ada', [onAwareness(b.provider.awareness)])
    a.provider.destroy()
    await until('A to leave B', () => !b.provider.awareness.getStates().has(a.doc.clientID), [onAwareness(b.provider.awareness)])
  })
})

describe('SyncProvider and the "saved" subprotocol against servers without the extension', () => {
  /** ws' WebSocket, recording the subprotocols of every socket it creates. */
  function recordingWebSocket(offers: (string | string[] | undefined)[]): WebSocketConstructor {
    return class extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols)
        offers.push(protocols)
      }
    }
  }

  it('connects to a server that selects no subprotocol (which `ws` refuses) by dropping the offer for that URL', async () => {
    const rooms = new Map<string, RelayRoom>()
    let relay = await startRelay(0, rooms)
    cleanups.push(() => relay.close())
    const offers: (string | string[] | undefined)[] = []
    const a = client(relay.port, 'plain', recordingWebSocket(offers))
    const errors: unknown[] = []
    a.provider.on('connection-error', (e) => errors.push(e))
    await until('synced', () => a.provider.synced, [onProvider(a.provider)])
    expect(offers).toEqual([SAVED_ACK_PROTOCOL, undefined])
    expect(errors).toEqual([]) // the refused offer is negotiation, not an error
    expect(a.provider.savedState).toBe('unsupported')

    // The refusal is remembered: the reconnect after a restart does not offer again.
    await relay.close()
    await until('disconnected', () => !a.provider.synced, [onProvider(a.provider)])
    relay = await startRelay(relay.port, rooms)
    await until('synced again', () => a.provider.synced, [onProvider(a.provider)])
    expect(offers.slice(2).every((o) => o === undefined)).toBe(true)
  })

  it('never claims "saved" on a server that echoes the offer but does not speak the extension', async () => {
    const rooms = new Map<string, RelayRoom>()
    const relay = await startRelay(0, rooms, true)
    cleanups.push(() => relay.close())
    const offers: (string | string[] | undefined)[] = []
    const a = client(relay.port, 'echo', recordingWebSocket(offers))
    const b = client(relay.port, 'echo')
    let saved = 0
    a.provider.on('saved', () => saved++)
    await until('both synced', () => a.provider.synced && b.provider.synced, [onProvider(a.provider), onProvider(b.provider)])
    expect(offers).toEqual([SAVED_ACK_PROTOCOL]) // accepted: the server echoed it
    expect(a.provider.savedState).toBe('unsupported') // …but its first frame was no hello

    a.doc.getText('t').insert(0, 'stored? nobody says')
    await until('B to see it', () => b.doc.getText('t').toString() === 'stored? nobody says', [onDoc(b.doc)])
    // The relay holds the edit and has answered everything; still no claim.
    expect(rooms.get('echo')!.doc.getText('t').toString()).toBe('stored? nobody says')
    expect(a.provider.unsavedChanges).toBe(1)
    expect(saved).toBe(0)
  })
})
