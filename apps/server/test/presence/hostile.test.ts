import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as awarenessProtocol from 'y-protocols/awareness'
import { MessageType, writeAwareness, writeQueryAwareness, writeSyncStep1 } from '@tandem/sync'
import { SyncProvider } from '@tandem/sync/provider'
import { ConfigError, loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/log.js'
import { createMemoryStore } from '../../src/store/memory.js'
import { createTandemServer } from '../../src/server.js'
import type { Fanout, FanoutDelivery } from '../../src/fanout/types.js'
import { startServer, tempDir, type RunningServer } from '../helpers/server.js'
import { until } from '../helpers/wait.js'
import { SECRET, recordingSocket, token, withToken } from '../helpers/auth.js'

/**
 * Hostile presence (awareness) input from a stock `ws` client (docs/architecture.md, invariant
 * "Presence safety"): clocks that overflow the server's own removal, states nested deep enough to
 * blow receivers' stacks, claiming a departed user's client id, and stuffing one connection with
 * states. Each attack is checked
 * against what real clients see: Tandem's SyncProvider and a y-protocols Awareness on a raw socket.
 */
const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

const ROOM = 'doc'
const MAX_CLOCK = 2 ** 53 - 2

async function server(env: Record<string, string> = {}): Promise<RunningServer> {
  const s = await startServer(env)
  cleanup.push(() => s.close())
  return s
}

/** An awareness message with the given entries; `state` given as a string is sent as that JSON text. */
function awareness(entries: Array<[clientID: number, clock: number, state: unknown]>): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, entries.length)
  for (const [id, clock, state] of entries) {
    encoding.writeVarUint(e, id)
    encoding.writeVarUint(e, clock)
    encoding.writeVarString(e, typeof state === 'string' ? state : JSON.stringify(state))
  }
  return encoding.toUint8Array(e)
}
const awarenessFrame = (entries: Array<[number, number, unknown]>) => writeAwareness(awareness(entries))

/** A SyncProvider (Tandem's client) in ROOM with a name in its presence; records every status it goes through. */
async function provider(s: RunningServer, name: string, claims?: { sub: string; access: 'write' | 'read' }) {
  const p = new SyncProvider({
    url: s.wsUrl,
    room: ROOM,
    doc: new Y.Doc(),
    WebSocket,
    ...(claims ? { token: () => token(claims) } : {}),
  })
  cleanup.push(() => p.destroy())
  const statuses: string[] = []
  p.on('status', (e) => statuses.push(e.status))
  p.awareness.setLocalStateField('user', { name })
  await until(() => p.synced, `${name} synced`)
  statuses.length = 0
  return { p, statuses, nameOf: (id: number) => (p.awareness.getStates().get(id)?.user as { name?: string } | undefined)?.name }
}

/**
 * What a y-websocket user has: a stock `ws` socket and a y-protocols Awareness that applies every
 * awareness message. `problems` collects what it could not take. lib0 itself reads a varint of
 * 2^53 without complaint, but that is past the integers a clock can count on from
 * (2^53 + 1 === 2^53), and Tandem's own decoder refuses it: any clock that is not a safe integer
 * is a problem here too.
 */
async function yProtocolsClient(url: string) {
  const sock = await recordingSocket(url)
  cleanup.push(() => sock.ws.terminate())
  const aw = new awarenessProtocol.Awareness(new Y.Doc())
  aw.setLocalState(null)
  cleanup.push(() => aw.destroy())
  const problems: string[] = []
  const received: Uint8Array[] = []
  sock.ws.on('message', (data: Buffer) => {
    try {
      const d = decoding.createDecoder(new Uint8Array(data))
      if (decoding.readVarUint(d) !== MessageType.Awareness) return
      const update = decoding.readVarUint8Array(d)
      received.push(update)
      const u = decoding.createDecoder(update)
      for (let n = decoding.readVarUint(u); n > 0; n--) {
        decoding.readVarUint(u)
        const clock = decoding.readVarUint(u)
        if (!Number.isSafeInteger(clock)) problems.push(`clock ${clock}`)
        decoding.readVarString(u)
      }
      awarenessProtocol.applyAwarenessUpdate(aw, update, 'server')
    } catch (err) {
      problems.push(String(err))
    }
  })
  return { ...sock, aw, problems, received }
}

/**
 * Sends `frames`, then a sync step 1, and resolves with how the server reacted: it closed the
 * socket (frames are handled in order, so a close comes before the answer), or it answered (with
 * a sync step 2: nothing else the server sends starts with [0, 1]).
 */
function sendThenQuery(sock: Awaited<ReturnType<typeof recordingSocket>>, frames: Uint8Array[]) {
  return new Promise<{ code: number; reason: string } | { answered: true }>((resolve) => {
    const onClose = (code: number, reason: Buffer) => {
      sock.ws.off('message', onMessage)
      resolve({ code, reason: reason.toString() })
    }
    const onMessage = (data: Buffer) => {
      if (data[0] !== MessageType.Sync || data[1] !== 1) return
      sock.ws.off('close', onClose)
      sock.ws.off('message', onMessage)
      resolve({ answered: true })
    }
    sock.ws.once('close', onClose)
    for (const f of frames) sock.ws.send(f)
    sock.ws.send(writeSyncStep1(new Y.Doc()))
    sock.ws.on('message', onMessage)
  })
}

describe('awareness clock overflow', () => {
  it('a clock above 2^53 − 2 closes its sender 1007 awareness-clock; at 2^53 − 2 the removal is 2^53 − 1 and every client stays connected', async () => {
    // Root cause guarded: the server announced a departed client's removal at clock + 1 and never
    // bounded the clock a client may send, so a read-only viewer's state at 2^53 − 1 became a
    // removal at 2^53, which Tandem's SyncProvider refuses as malformed: every client in the room
    // dropped and reconnected, at will.
    const s = await server({ AUTH_SECRET: SECRET })
    const watcher = await provider(s, 'watcher', { sub: 'watcher', access: 'write' })
    const observer = await yProtocolsClient(withToken(s.wsUrl, ROOM, await token({ sub: 'observer', access: 'read' })))

    const viewerUrl = withToken(s.wsUrl, ROOM, await token({ sub: 'mallory', access: 'read' }))
    const overflow = await recordingSocket(viewerUrl)
    cleanup.push(() => overflow.ws.terminate())
    const refused = await sendThenQuery(overflow, [awarenessFrame([[4242, MAX_CLOCK + 1, { user: { name: 'overflow' } }]])])
    overflow.ws.close() // the attack's second half, if the server kept the connection

    // The highest clock allowed: the state shows, and so does its removal, one clock ahead.
    const edge = await recordingSocket(viewerUrl)
    cleanup.push(() => edge.ws.terminate())
    edge.ws.send(awarenessFrame([[4343, MAX_CLOCK, { user: { name: 'edge' } }]]))
    await until(() => watcher.nameOf(4343) === 'edge', 'the edge state at the watcher')
    edge.ws.close()
    await until(() => !watcher.p.awareness.getStates().has(4343) && !observer.aw.getStates().has(4343), 'the removal at every client')
    expect(observer.aw.meta.get(4343)?.clock).toBe(Number.MAX_SAFE_INTEGER)

    // Nobody dropped, nothing undecodable was sent, nobody ever saw the overflowing state.
    expect(watcher.statuses).toEqual([])
    expect(watcher.p.status).toBe('connected')
    expect(observer.problems).toEqual([])
    expect(refused).toEqual({ code: 1007, reason: 'awareness-clock' })
    expect(observer.aw.meta.has(4242)).toBe(false)
  })
})

describe('deeply nested presence state', () => {
  it('a 60 KB state nested 30,000 deep closes its sender 1007 awareness-depth; no other client receives it', async () => {
    // Root cause guarded: json-bytes.ts checked UTF-8 and JSON grammar but not nesting, so a state
    // JSON.parse accepts was relayed, and y-protocols' deep equality check then threw RangeError
    // in every receiver at its next update.
    const s = await server()
    const watcher = await provider(s, 'watcher')
    const observer = await yProtocolsClient(`${s.wsUrl}/${ROOM}`)
    const evil = await recordingSocket(`${s.wsUrl}/${ROOM}`)
    cleanup.push(() => evil.ws.terminate())
    const deep = '['.repeat(30_000) + ']'.repeat(30_000)
    const frame = awarenessFrame([[777, 1, deep]])
    expect(frame.length).toBeGreaterThan(60_000)
    // Twice: y-protocols compares a state with the previous one, recursively.
    const refused = await sendThenQuery(evil, [frame, awarenessFrame([[777, 2, deep]])])

    // A marker sent after it, from a well-behaved client: once it arrived, the deep state would have.
    watcher.p.awareness.setLocalStateField('user', { name: 'marker' })
    await until(() => [...observer.aw.getStates().values()].some((st) => (st.user as { name?: string })?.name === 'marker'), 'marker')
    expect(observer.problems).toEqual([])
    expect(observer.received.every((u) => u.length < 1000)).toBe(true)
    expect(observer.aw.meta.has(777)).toBe(false)
    expect(watcher.statuses).toEqual([])
    expect(refused).toEqual({ code: 1007, reason: 'awareness-depth' })
  })
})

describe('presence takeover (awareness client ids are reserved for their principal)', () => {
  it("a viewer cannot claim a departed writer's client id; when the writer comes back, its state is what others see", async () => {
    // Root cause guarded: a client id's owner was forgotten the moment its connection closed
    // (Room.owners), so a read-only connection could claim a departed writer's id with a huge
    // clock; on its return the writer's own state (lower clock) was silently refused, and
    // everyone saw the impostor.
    const s = await server({ AUTH_SECRET: SECRET })
    const writer = await provider(s, 'Alice', { sub: 'alice', access: 'write' })
    const third = await provider(s, 'Carol', { sub: 'carol', access: 'write' })
    const id = writer.p.awareness.clientID
    await until(() => third.nameOf(id) === 'Alice', "Alice's presence at Carol")
    writer.p.disconnect()
    await until(() => !third.p.awareness.getStates().has(id), "Alice's presence gone at Carol")

    const viewer = await recordingSocket(withToken(s.wsUrl, ROOM, await token({ sub: 'mallory', access: 'read' })))
    cleanup.push(() => viewer.ws.terminate())
    viewer.ws.send(awarenessFrame([[id, 1_000_000_000_000, { user: { name: 'IMPOSTOR' } }]]))
    // A marker after the claim, on the same connection (handled in order): the viewer's own state.
    viewer.ws.send(awarenessFrame([[9_001, 1, { user: { name: 'viewer marker' } }]]))
    await until(() => third.nameOf(9_001) === 'viewer marker', 'viewer marker at Carol')
    expect(third.nameOf(id)).toBeUndefined()
    expect(viewer.ws.readyState).toBe(WebSocket.OPEN) // dropped, as for spoofing: not a reason to close

    writer.p.connect()
    await until(() => third.nameOf(id) === 'Alice', "Alice's presence back at Carol")
    // And a late joiner is handed Alice, not the impostor.
    const late = await provider(s, 'Late', { sub: 'late', access: 'read' })
    await until(() => late.nameOf(id) === 'Alice', 'Alice at a late joiner')
  })

  it('the same sub may reclaim its released id from a new connection, a viewer too; another sub may not', async () => {
    // Root cause guarded (the other side of the reservation): a user reconnecting with the same
    // client id (a SyncProvider keeps it across reconnects) must get its presence back, whatever
    // its access, or reservations would make viewers invisible after every network blip.
    const s = await server({ AUTH_SECRET: SECRET })
    const third = await provider(s, 'Carol', { sub: 'carol', access: 'write' })
    const id = 5_150
    const first = await recordingSocket(withToken(s.wsUrl, ROOM, await token({ sub: 'alice', access: 'write' })))
    first.ws.send(awarenessFrame([[id, 10, { user: { name: 'Alice' } }]]))
    await until(() => third.nameOf(id) === 'Alice', 'Alice at Carol')
    first.ws.terminate()
    await until(() => !third.p.awareness.getStates().has(id), 'Alice removed at Carol')

    const other = await recordingSocket(withToken(s.wsUrl, ROOM, await token({ sub: 'bob', access: 'write' })))
    cleanup.push(() => other.ws.terminate())
    other.ws.send(awarenessFrame([[id, 50, { user: { name: 'Bob as Alice' } }], [6_000, 1, { user: { name: 'Bob' } }]]))
    await until(() => third.nameOf(6_000) === 'Bob', "Bob's own state at Carol")
    expect(third.nameOf(id)).toBeUndefined()

    const again = await recordingSocket(withToken(s.wsUrl, ROOM, await token({ sub: 'alice', access: 'read' })))
    cleanup.push(() => again.ws.terminate())
    again.ws.send(awarenessFrame([[id, 12, { user: { name: 'Alice again' } }]]))
    await until(() => third.nameOf(id) === 'Alice again', 'Alice again at Carol')
  })
})

describe('presence stuffing (MAX_PRESENCE_BYTES_PER_CONNECTION)', () => {
  const STATE = 60 * 1024
  const big = (id: number) => awarenessFrame([[id, 1, { user: { name: `s${id}` }, pad: 'x'.repeat(STATE - 40) }]])

  it('one connection holding more than 256 KiB of states is closed 1008 presence-over-budget; joiners download little', async () => {
    // Root cause guarded: MAX_AWARENESS_BYTES bounded one state, not one connection: a viewer held
    // 240 × 60 KiB states, and every joiner downloaded all 14 MiB of them.
    const s = await server({ AUTH_SECRET: SECRET })
    const watcher = await provider(s, 'watcher', { sub: 'watcher', access: 'write' })
    const viewerUrl = withToken(s.wsUrl, ROOM, await token({ sub: 'mallory', access: 'read' }))
    const stuffer = await recordingSocket(viewerUrl)
    cleanup.push(() => stuffer.ws.terminate())
    const frames = Array.from({ length: 240 }, (_, i) => big(100 + i))
    const refused = await sendThenQuery(stuffer, frames)

    // A joiner's presence download: the join frame and the answer to its query. Whether or not the
    // closed stuffer's states are gone yet, they never were more than the budget.
    const joiner = await recordingSocket(withToken(s.wsUrl, ROOM, await token({ sub: 'joiner', access: 'read' })))
    cleanup.push(() => joiner.ws.terminate())
    joiner.ws.send(writeQueryAwareness())
    const isAwareness = (f: Uint8Array) => f[0] === MessageType.Awareness
    await until(() => joiner.frames.filter(isAwareness).length >= 2, 'the join frame and the answer')
    expect(Math.max(...joiner.frames.filter(isAwareness).map((f) => f.length))).toBeLessThan(256 * 1024 + 1024)
    expect(refused).toEqual({ code: 1008, reason: 'presence-over-budget' })

    // Under the budget (4 × 60 KiB), a connection keeps its states.
    const modest = await recordingSocket(viewerUrl)
    cleanup.push(() => modest.ws.terminate())
    expect(await sendThenQuery(modest, [big(1), big(2), big(3), big(4)])).toEqual({ answered: true })
    await until(() => [1, 2, 3, 4].every((id) => watcher.nameOf(id) === `s${id}`), 'the modest states at the watcher')
    expect(watcher.statuses).toEqual([])
  })

  it('MAX_PRESENCE_BYTES_PER_CONNECTION is read from the environment; a bad value names the variable', () => {
    const base = { DATA_DIR: tempDir(), STORE: 'memory' }
    expect(loadConfig(base, { editorDir: '' }).maxPresenceBytesPerConnection).toBe(262_144)
    expect(loadConfig({ ...base, MAX_PRESENCE_BYTES_PER_CONNECTION: '1000000' }, { editorDir: '' }).maxPresenceBytesPerConnection).toBe(1_000_000)
    for (const bad of ['lots', '-1', '10']) {
      expect(() => loadConfig({ ...base, MAX_PRESENCE_BYTES_PER_CONNECTION: bad }, { editorDir: '' })).toThrow(/^MAX_PRESENCE_BYTES_PER_CONNECTION/)
    }
    // Smaller than one allowed state: no connection could hold a state of the size allowed.
    expect(() => loadConfig({ ...base, MAX_PRESENCE_BYTES_PER_CONNECTION: '1000', MAX_AWARENESS_BYTES: '2000' }, { editorDir: '' })).toThrow(ConfigError)
  })
})

describe("other servers' presence (fan-out)", () => {
  it('is checked like a client\'s: a clock above 2^53 − 2 or a state nested past 64 is dropped, not relayed', async () => {
    // Root cause guarded: receiveFanout applied and relayed another server's awareness with only
    // the JSON check, so a server that let such a state through spread it to every server's clients.
    let deliver: ((msg: FanoutDelivery) => void) | undefined
    const fanout: Fanout = {
      kind: 'test',
      subscribe: async (_room, onMessage) => void (deliver = onMessage),
      unsubscribe: async () => {},
      publish: () => {},
      health: async () => ({ ok: true }),
      close: async () => {},
    }
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', STORE: 'memory', DATA_DIR: tempDir() }, { editorDir: '' })
    const store = createMemoryStore()
    const srv = createTandemServer({ config, store, fanout, log: createLogger('silent') })
    const { port } = await srv.listen()
    cleanup.push(async () => {
      await srv.close()
      await store.close()
    })
    const s = { wsUrl: `ws://127.0.0.1:${port}` } as RunningServer
    const watcher = await provider(s, 'watcher')
    const observer = await yProtocolsClient(`${s.wsUrl}/${ROOM}`)
    let deep: unknown = 0
    for (let k = 0; k < 65; k++) deep = [deep]
    deliver!({ kind: 'awareness', payload: awareness([[1, MAX_CLOCK + 1, { user: { name: 'overflow' } }]]) })
    deliver!({ kind: 'awareness', payload: awareness([[2, 1, deep]]) })
    deliver!({ kind: 'awareness', payload: awareness([[3, MAX_CLOCK, { user: { name: 'remote' } }]]) })
    await until(() => watcher.nameOf(3) === 'remote', "the valid remote state at the watcher")
    // That server announcing its client's removal, one clock ahead: relayed.
    deliver!({ kind: 'awareness', payload: awareness([[3, MAX_CLOCK + 1, null]]) })
    await until(() => !watcher.p.awareness.getStates().has(3) && observer.aw.meta.get(3)?.clock === MAX_CLOCK + 1, 'the remote removal')
    expect(watcher.nameOf(1)).toBeUndefined()
    expect(observer.aw.meta.has(1)).toBe(false)
    expect(observer.aw.meta.has(2)).toBe(false)
    expect(observer.problems).toEqual([])
    expect(watcher.statuses).toEqual([])
  })
})

describe("presence takeover across servers (ids other servers' connections use)", () => {
  it("a viewer here cannot claim a client id of another server's writer, live or departed", async () => {
    // Root cause guarded: ownership was only known for this server's connections, so an id whose
    // state came over the fan-out was anyone's here: a viewer on server B took over a writer on
    // server A with a huge clock, and A's fan-out then carried the impostor to A's clients.
    let deliver: ((msg: FanoutDelivery) => void) | undefined
    const published: Uint8Array[] = []
    const fanout: Fanout = {
      kind: 'test',
      subscribe: async (_room, onMessage) => void (deliver = onMessage),
      unsubscribe: async () => {},
      publish: (_room, msg) => void (msg.kind === 'awareness' && published.push(msg.payload)),
      health: async () => ({ ok: true }),
      close: async () => {},
    }
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', STORE: 'memory', AUTH_SECRET: SECRET, DATA_DIR: tempDir() }, { editorDir: '' })
    const store = createMemoryStore()
    const srv = createTandemServer({ config, store, fanout, log: createLogger('silent') })
    const { port } = await srv.listen()
    cleanup.push(async () => {
      await srv.close()
      await store.close()
    })
    const s = { wsUrl: `ws://127.0.0.1:${port}` } as RunningServer
    const carol = await provider(s, 'Carol', { sub: 'carol', access: 'write' })
    const ALICE = 77
    deliver!({ kind: 'awareness', payload: awareness([[ALICE, 3, { user: { name: 'Alice on A' } }]]) })
    await until(() => carol.nameOf(ALICE) === 'Alice on A', "Alice's presence from server A")

    const viewer = await recordingSocket(withToken(s.wsUrl, ROOM, await token({ sub: 'mallory', access: 'read' })))
    cleanup.push(() => viewer.ws.terminate())
    viewer.ws.send(awarenessFrame([[ALICE, 1_000_000_000_000, { user: { name: 'IMPOSTOR' } }]]))
    viewer.ws.send(awarenessFrame([[9_001, 1, { user: { name: 'marker 1' } }]]))
    await until(() => carol.nameOf(9_001) === 'marker 1', 'the first marker at Carol')
    expect(carol.nameOf(ALICE)).toBe('Alice on A')

    // Alice leaves server A: A announces her removal.
    deliver!({ kind: 'awareness', payload: awareness([[ALICE, 4, null]]) })
    await until(() => carol.nameOf(ALICE) === undefined, "Alice's removal from server A")
    viewer.ws.send(awarenessFrame([[ALICE, 1_000_000_000_000, { user: { name: 'IMPOSTOR' } }]]))
    viewer.ws.send(awarenessFrame([[9_002, 1, { user: { name: 'marker 2' } }]]))
    await until(() => carol.nameOf(9_002) === 'marker 2', 'the second marker at Carol')
    expect(carol.nameOf(ALICE)).toBeUndefined()
    // Nor was the impostor published for server A's clients.
    const impostor = published.some((u) => new TextDecoder().decode(u).includes('IMPOSTOR'))
    expect(impostor).toBe(false)
    expect(viewer.ws.readyState).toBe(WebSocket.OPEN)
  })
})
