/**
 * Hostile input against SyncProvider: whatever a server or another tab sends, nothing may throw
 * out of the provider's event handlers (uncaught in Node = the process dies). A bad awareness
 * entry is dropped alone, a frame that cannot be read closes the connection (backoff, never a
 * hot loop), and an update Yjs cannot apply closes it too; see provider.ts › "Hostile input".
 *
 * Fake socket and fake BroadcastChannel first: they deliver synchronously, so a throw out of a
 * handler lands in `escaped` (what a real socket or channel would turn into an uncaught
 * exception). Then real `ws` sockets and Node's BroadcastChannel with an uncaughtException probe.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import fc from 'fast-check'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import WebSocket, { WebSocketServer } from 'ws'
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness'
import { ProtocolError } from '../protocol/errors.js'
import { writeAwareness, writeQueryAwareness, writeSaved, writeSyncStep1FromStateVector, writeSyncStep2, writeSyncUpdate } from '../protocol/frame.js'
import { type StatusEvent, SyncProvider, type SyncProviderOptions } from './provider.js'
import { MAX_TAB_MESSAGE_BYTES } from './tabs.js'

// ---------------------------------------------------------------------------------------------
// Hostile payloads.

/** lib0 varUint bytes of any non-negative integer, also past 2^53 (which lib0's writer cannot). */
function varUint(n: number | bigint): number[] {
  let v = BigInt(n)
  const out: number[] = []
  while (v > 127n) {
    out.push(Number(v & 127n) | 128)
    v >>= 7n
  }
  out.push(Number(v))
  return out
}

function concat(parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

interface RawEntry {
  id: number | bigint
  clock: number | bigint
  /** JSON text, or raw bytes (e.g. not UTF-8) */
  state: string | Uint8Array
}

/** An awareness update written byte by byte, so it can say what y-protocols' writer never would. */
function awarenessUpdate(entries: RawEntry[]): Uint8Array {
  const parts: ArrayLike<number>[] = [varUint(entries.length)]
  for (const e of entries) {
    const state = typeof e.state === 'string' ? new TextEncoder().encode(e.state) : e.state
    parts.push(varUint(e.id), varUint(e.clock), varUint(state.length), state)
  }
  return concat(parts)
}

const deepArray = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth)
const deepObject = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)

/**
 * A v1 update creating Y.Maps nested `depth` deep under root map 'root' (each the 'k' entry of
 * the one above), and deleting the outermost. Written directly: building it through Yjs takes
 * O(depth²). Applying it recurses once per level (Item.delete, then Item.gc): a RangeError at
 * 10,000 levels, after which Yjs never finishes that transaction in a doc with gc on.
 */
function deepTypeThenDeleted(depth: number, client = 424242): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 1) // clients with structs
  encoding.writeVarUint(e, depth) // structs
  encoding.writeVarUint(e, client)
  encoding.writeVarUint(e, 0) // first clock
  for (let i = 0; i < depth; i++) {
    encoding.writeUint8(e, 7 | 32) // ContentType, has parentSub, no origins: parent info follows
    if (i === 0) {
      encoding.writeVarUint(e, 1) // parent is a root type, by name
      encoding.writeVarString(e, 'root')
    } else {
      encoding.writeVarUint(e, 0) // parent is an item, by id
      encoding.writeVarUint(e, client)
      encoding.writeVarUint(e, i - 1)
    }
    encoding.writeVarString(e, 'k')
    encoding.writeVarUint(e, 1) // YMap
  }
  encoding.writeVarUint(e, 1) // delete set: one client, one range [0, 1)
  encoding.writeVarUint(e, client)
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, 0)
  encoding.writeVarUint(e, 1)
  return encoding.toUint8Array(e)
}

const HOSTILE_UPDATE = deepTypeThenDeleted(10_000)

function textUpdate(s: string, client?: number): Uint8Array {
  const doc = new Y.Doc()
  if (client !== undefined) doc.clientID = client
  doc.getText('t').insert(0, s)
  return Y.encodeStateAsUpdate(doc)
}

const state = (json: string): string => json
const NOT_UTF8 = new Uint8Array([0x22, 0xff, 0xfe, 0x22]) // "\xff\xfe"

// ---------------------------------------------------------------------------------------------
// Fakes. A throw out of onmessage lands in `escaped`: with a real socket or channel it would be
// an uncaught exception.

let escaped: unknown[] = []

function deliverTo(handler: ((event: { data: unknown }) => void) | null, data: unknown): void {
  try {
    handler?.({ data })
  } catch (error) {
    escaped.push(error)
  }
}

let sockets: FakeSocket[] = []

class FakeSocket {
  binaryType = 'blob'
  readyState = 0
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number; reason: string }) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  readonly sent: Uint8Array[] = []
  closed = false

  constructor(readonly url: string) {
    sockets.push(this)
  }

  send(data: Uint8Array): void {
    if (this.readyState !== 1) throw new Error('send() on a socket that is not open')
    this.sent.push(data.slice())
  }

  close(): void {
    this.closed = true
    this.readyState = 3
  }

  open(): void {
    this.readyState = 1
    try {
      this.onopen?.({})
    } catch (error) {
      escaped.push(error)
    }
  }

  receive(data: Uint8Array | string): void {
    deliverTo(this.onmessage, typeof data === 'string' ? data : data.slice().buffer)
  }

  serverClose(): void {
    this.readyState = 3
    this.onclose?.({ code: 1006, reason: '' })
  }

  /** Opens and completes the sync handshake; the server holds `update`. */
  sync(update: Uint8Array = Y.encodeStateAsUpdate(new Y.Doc())): void {
    this.open()
    this.receive(writeSyncStep2(update))
  }
}

let channels: FakeChannel[] = []

class FakeChannel {
  onmessage: ((event: { data: unknown }) => void) | null = null
  readonly posted: unknown[] = []
  closed = false

  constructor(readonly name: string) {
    channels.push(this)
  }

  postMessage(message: unknown): void {
    this.posted.push(message)
  }

  close(): void {
    this.closed = true
  }

  /** The id this tab announced in its hello: what a welcome must be addressed to. */
  get tabId(): string {
    const hello = this.posted.find((m) => (m as { t?: unknown }).t === 'hello') as { from: string }
    return hello.from
  }

  deliver(data: unknown): void {
    deliverTo(this.onmessage, data)
  }
}

const providers: SyncProvider[] = []

function makeProvider(options: Partial<SyncProviderOptions> = {}): SyncProvider {
  const provider = new SyncProvider({
    url: 'ws://server.test',
    room: 'room',
    doc: new Y.Doc(),
    WebSocket: FakeSocket,
    initialBackoffMs: 100,
    maxBackoffMs: 1000,
    deadLinkTimeoutMs: Infinity,
    ...options,
  })
  providers.push(provider)
  return provider
}

const lastSocket = (): FakeSocket => sockets.at(-1)!

interface Recorded {
  statuses: StatusEvent[]
  connectionErrors: unknown[]
  dropped: { error: ProtocolError; source: string }[]
  listenerErrors: unknown[]
}

function record(provider: SyncProvider): Recorded {
  const r: Recorded = { statuses: [], connectionErrors: [], dropped: [], listenerErrors: [] }
  provider.on('status', (e) => r.statuses.push(e))
  provider.on('connection-error', (e) => r.connectionErrors.push(e))
  provider.on('message-dropped', (error, source) => r.dropped.push({ error, source }))
  provider.on('listener-error', (e) => r.listenerErrors.push(e))
  return r
}

/** A provider synced with a server holding 'kept', presence set, and a recorder. */
function syncedProvider(options: Partial<SyncProviderOptions> = {}): { provider: SyncProvider; socket: FakeSocket; events: Recorded } {
  const provider = makeProvider(options)
  const events = record(provider)
  provider.awareness.setLocalState({ user: 'me' })
  const socket = lastSocket()
  socket.sync(textUpdate('kept'))
  expect(provider.synced).toBe(true)
  return { provider, socket, events }
}

const text = (provider: SyncProvider): string => provider.doc.getText('t').toString()
const peers = (provider: SyncProvider): number[] =>
  [...provider.awareness.getStates().keys()].filter((id) => id !== provider.awareness.clientID).sort((a, b) => a - b)

beforeEach(() => {
  sockets = []
  channels = []
  escaped = []
  vi.useFakeTimers()
})

afterEach(() => {
  for (const p of providers.splice(0)) p.destroy()
  vi.useRealTimers()
  vi.restoreAllMocks()
})

// ---------------------------------------------------------------------------------------------

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
    const { provider, socket, events } = syncedProvider()
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
        escaped = []
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
        escaped = []
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

// ---------------------------------------------------------------------------------------------
// Real sockets, a real BroadcastChannel: nothing reaches process 'uncaughtException'.

describe('over a real `ws` socket and a real BroadcastChannel', () => {
  beforeEach(() => {
    vi.useRealTimers()
  })

  const cleanups: (() => void | Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  /** Collects what would otherwise crash the process (vitest also reports it as unhandled). */
  function uncaughtProbe(): unknown[] {
    const seen: unknown[] = []
    const listener = (error: unknown): void => void seen.push(error)
    process.on('uncaughtException', listener)
    cleanups.push(() => void process.off('uncaughtException', listener))
    return seen
  }

  async function until(what: string, predicate: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 5))
    }
  }

  it('a hostile server: deep presence, an unusable update, a mixed awareness frame; the client survives and resyncs', async () => {
    const uncaught = uncaughtProbe()
    let connections = 0
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await new Promise<void>((resolve) => wss.once('listening', resolve))
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const ws of wss.clients) ws.terminate()
          wss.close(() => resolve())
        }),
    )
    wss.on('connection', (ws) => {
      connections++
      if (connections === 1) {
        ws.send(writeSyncStep2(Y.encodeStateAsUpdate(new Y.Doc())))
        ws.send(writeAwareness(awarenessUpdate([{ id: 601, clock: 1, state: deepArray(30_000) }])))
        ws.send(writeAwareness(awarenessUpdate([{ id: 601, clock: 2, state: deepArray(30_000) }])))
        ws.send(writeSyncUpdate(HOSTILE_UPDATE))
      } else {
        ws.send(writeSyncStep2(textUpdate('after the attack')))
        ws.send(
          writeAwareness(
            awarenessUpdate([
              { id: 602, clock: 2 ** 53, state: '{}' },
              { id: 603, clock: 1, state: '{"ok":true}' },
            ]),
          ),
        )
      }
    })
    const address = wss.address()
    if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
    const provider = new SyncProvider({
      url: `ws://127.0.0.1:${address.port}`,
      room: 'hostile',
      doc: new Y.Doc({ gc: false }),
      WebSocket,
      initialBackoffMs: 20,
      maxBackoffMs: 200,
    })
    cleanups.push(() => provider.destroy())
    await until('the second connection to sync', () => text(provider) === 'after the attack' && provider.awareness.getStates().has(603))
    expect(uncaught).toEqual([])
    expect(connections).toBe(2)
    expect(peers(provider)).toEqual([603])
    expect(provider.status).toBe('connected')
  })

  it('a hostile tab on Node\'s BroadcastChannel: deep presence and an unusable update are dropped', async () => {
    const uncaught = uncaughtProbe()
    const room = `hostile-tabs-${process.pid}`
    const provider = new SyncProvider({
      url: 'ws://tabs.test',
      room,
      doc: new Y.Doc({ gc: false }),
      WebSocket: FakeSocket,
      crossTab: true,
      connect: false,
    })
    cleanups.push(() => provider.destroy())
    const dropped: string[] = []
    provider.on('message-dropped', (error) => dropped.push(error.reason))
    const intruder = new BroadcastChannel(`tandem-sync ws://tabs.test ${room}`)
    cleanups.push(() => intruder.close())
    intruder.postMessage({ v: 1, t: 'awareness', update: awarenessUpdate([{ id: 701, clock: 1, state: deepArray(30_000) }]) })
    intruder.postMessage({ v: 1, t: 'awareness', update: awarenessUpdate([{ id: 701, clock: 2, state: deepArray(30_000) }]) })
    intruder.postMessage({ v: 1, t: 'update', update: HOSTILE_UPDATE, relay: true })
    intruder.postMessage({ v: 1, t: 'update', update: textUpdate('marker'), relay: false })
    await until('the message after the junk', () => text(provider) === 'marker')
    expect(uncaught).toEqual([])
    expect(dropped).toEqual(['awareness-depth', 'awareness-depth', 'invalid-update'])
  })
})
