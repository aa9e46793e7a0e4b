/**
 * SyncProvider's "saved" acknowledgements over a scriptable fake socket: the test plays the
 * server, so every ordering (hello, acks, reconnects mid-flight) is exact.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { ProtocolError } from '../protocol/errors.js'
import { type Frame, readFrame, writeSaved, writeSyncStep1, writeSyncStep2, writeSyncUpdate } from '../protocol/frame.js'
import { SAVED_ACK_PROTOCOL } from '../protocol/message-type.js'
import { type SavedState, SyncProvider, type SyncProviderOptions } from './provider.js'

class FakeSocket {
  binaryType = 'blob'
  readyState = 0
  /** what the server selected; set by the test before open() */
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
    if (this.readyState !== 1) throw new Error('send() on a socket that is not open')
    this.sent.push(data.slice())
  }

  close(): void {
    this.readyState = 3
  }

  /** Opens as a server that selected `protocol` would. */
  open(protocol = this.protocols === undefined ? '' : SAVED_ACK_PROTOCOL): void {
    this.protocol = protocol
    this.readyState = 1
    this.onopen?.({ type: 'open' })
  }

  receive(data: Uint8Array): void {
    this.onmessage?.({ data: data.slice().buffer })
  }

  /** Our server's opening: hello, then its sync step 1 from an empty document. */
  hello(): void {
    this.open()
    this.receive(writeSaved(0))
  }

  serverClose(code = 1006): void {
    this.readyState = 3
    this.onclose?.({ code, reason: '' })
  }

  frames(): Frame[] {
    return this.sent.map((b) => readFrame(b))
  }

  /** Document-update messages sent, as the server numbers them. */
  updateMessages(): Frame[] {
    return this.frames().filter((f) => f.type === 'sync-step2' || f.type === 'sync-update')
  }
}

let sockets: FakeSocket[] = []
const last = (): FakeSocket => sockets.at(-1)!

const providers: SyncProvider[] = []
function make(options: Partial<SyncProviderOptions> = {}): SyncProvider {
  const p = new SyncProvider({
    url: 'ws://server.test',
    room: 'room',
    doc: new Y.Doc(),
    WebSocket: FakeSocket,
    initialBackoffMs: 100,
    maxBackoffMs: 100,
    ...options,
  })
  providers.push(p)
  return p
}

/** Records every saved-related event, in order. */
function record(p: SyncProvider): string[] {
  const events: string[] = []
  p.on('unsaved-changes', (n) => events.push(`unsaved ${n}`))
  p.on('saved', () => events.push('saved'))
  p.on('saved-state', (s: SavedState) => events.push(`state ${s}`))
  return events
}

const edit = (p: SyncProvider, text = 'x'): void => p.doc.getText('t').insert(0, text)

beforeEach(() => {
  sockets = []
  vi.useFakeTimers()
  vi.spyOn(Math, 'random').mockReturnValue(0)
})

afterEach(() => {
  for (const p of providers.splice(0)) p.destroy()
  vi.useRealTimers()
  vi.restoreAllMocks()
})

describe('SyncProvider "saved" acknowledgements', () => {
  it('offers SAVED_ACK_PROTOCOL by default and not with savedAcks: false', () => {
    make()
    expect(last().protocols).toBe(SAVED_ACK_PROTOCOL)
    const off = make({ savedAcks: false })
    expect(last().protocols).toBeUndefined()
    expect(off.savedState).toBe('unsupported')
  })

  it('counts an edit until the server acknowledges the message carrying it, then says saved once', () => {
    const p = make()
    const events = record(p)
    expect(p.savedState).toBe('unknown')
    last().hello()
    expect(p.savedState).toBe('supported')
    last().receive(writeSyncStep1(new Y.Doc())) // → our step 2: message 1
    last().receive(writeSyncStep2(Y.encodeStateAsUpdate(new Y.Doc())))
    edit(p) // message 2
    expect(p.unsavedChanges).toBe(1)
    last().receive(writeSaved(1))
    expect(p.unsavedChanges).toBe(1) // Saved(1) covers the step 2 only
    last().receive(writeSaved(2))
    expect(p.unsavedChanges).toBe(0)
    expect(events).toEqual(['state supported', 'unsaved 1', 'unsaved 0', 'saved'])
  })

  it('one acknowledgement settles several messages, and a step 2 carries every offline edit', () => {
    const p = make({ connect: false })
    const events = record(p)
    edit(p, 'a')
    edit(p, 'b')
    edit(p, 'c')
    expect(p.unsavedChanges).toBe(3)
    p.connect()
    last().hello()
    edit(p, 'd') // typed before the server's step 1 arrived: message 1, an update
    last().receive(writeSyncStep1(new Y.Doc())) // message 2: step 2 with a, b, c (and d)
    const step2 = last().updateMessages()[1]
    expect(step2?.type).toBe('sync-step2')
    last().receive(writeSaved(1))
    expect(p.unsavedChanges).toBe(3)
    expect(events.includes('saved')).toBe(false)
    last().receive(writeSaved(2))
    expect(p.unsavedChanges).toBe(0)
    expect(events.filter((e) => e === 'saved')).toHaveLength(1)
  })

  it('never settles a change with an acknowledgement of another connection (reconnect mid-flight)', () => {
    const p = make()
    last().hello()
    last().receive(writeSyncStep1(new Y.Doc())) // message 1 of connection 1
    edit(p, 'lost in flight') // message 2 of connection 1, never acknowledged
    const first = last()
    first.serverClose(1006)
    expect(first.onmessage).toBeNull() // nothing from the dead socket can reach the provider
    expect(p.unsavedChanges).toBe(1)

    vi.advanceTimersByTime(1)
    last().hello()
    edit(p, 'new') // message 1 of connection 2
    // Connection 1 had numbered 2 messages; connection 2's Saved(1) covers only its own first.
    last().receive(writeSaved(1))
    expect(p.unsavedChanges).toBe(1)
    last().receive(writeSyncStep1(new Y.Doc())) // message 2: carries the lost edit again
    const server = new Y.Doc()
    Y.applyUpdate(server, (last().updateMessages()[1] as Extract<Frame, { type: 'sync-step2' }>).update)
    expect(server.getText('t').toString()).toContain('lost in flight')
    last().receive(writeSaved(2))
    expect(p.unsavedChanges).toBe(0)
  })

  it('on a server that echoes the subprotocol but sends no hello, never claims saved', () => {
    const p = make()
    const events = record(p)
    last().open(SAVED_ACK_PROTOCOL)
    last().receive(writeSyncStep1(new Y.Doc())) // first frame is not a hello
    expect(p.savedState).toBe('unsupported')
    edit(p)
    last().receive(writeSaved(2)) // even a well-formed Saved later is not trusted
    expect(p.unsavedChanges).toBe(1)
    expect(events).toEqual(['state unsupported', 'unsaved 1'])
    expect(p.status).toBe('connected')
  })

  it('knows at open that a server selecting no subprotocol will not acknowledge', () => {
    const p = make()
    last().open('')
    expect(p.savedState).toBe('unsupported')
    last().receive(writeSaved(0)) // too late to be a hello on a connection that declined
    expect(p.savedState).toBe('unsupported')
  })

  it('keeps the last verdict while offline, and counts offline edits', () => {
    const p = make()
    last().hello()
    last().serverClose(1006)
    expect(p.savedState).toBe('supported')
    edit(p)
    expect(p.unsavedChanges).toBe(1)
    expect(p.status).toBe('disconnected')
  })

  it('drops a connection whose server acknowledges more messages than it was sent', () => {
    const p = make()
    const errors: unknown[] = []
    p.on('connection-error', (e) => errors.push(e))
    last().hello()
    edit(p)
    last().receive(writeSaved(2))
    expect(errors[0]).toBeInstanceOf(ProtocolError)
    expect(p.status).toBe('disconnected')
    expect(p.unsavedChanges).toBe(1)
  })

  it('does not count updates from the server, and numbers only what it really sent', () => {
    const p = make()
    last().hello()
    const remote = new Y.Doc()
    remote.getText('t').insert(0, 'theirs')
    last().receive(writeSyncUpdate(Y.encodeStateAsUpdate(remote)))
    expect(p.unsavedChanges).toBe(0)
    edit(p)
    expect(last().updateMessages()).toHaveLength(1)
    last().receive(writeSaved(1))
    expect(p.unsavedChanges).toBe(0)
  })
})

describe('subprotocol negotiation', () => {
  const rejection = { type: 'error', message: 'Server sent no subprotocol', error: new Error('Server sent no subprotocol') }

  it('redoes a handshake the `ws` client failed over the offer without it, for that URL only', () => {
    const p = make({ url: ['ws://plain', 'ws://tandem/'] })
    const statuses: string[] = []
    const errors: unknown[] = []
    p.on('status', (e) => statuses.push(e.status))
    p.on('connection-error', (e) => errors.push(e))
    const offered = last()
    expect(offered.protocols).toBe(SAVED_ACK_PROTOCOL)
    offered.onerror?.(rejection)
    offered.serverClose(1006) // what `ws` does next; the provider no longer listens
    expect(sockets).toHaveLength(2)
    expect(last().url).toBe(offered.url)
    expect(last().protocols).toBeUndefined()
    expect(statuses).toEqual([]) // still the same 'connecting' attempt: no flicker
    expect(errors).toEqual([])
    last().open()
    expect(p.status).toBe('connected')
    expect(p.savedState).toBe('unsupported')

    // Remembered for ws://plain; the other server still gets the offer.
    last().serverClose(1006)
    vi.advanceTimersByTime(1)
    expect(last().url).toBe('ws://tandem/room')
    expect(last().protocols).toBe(SAVED_ACK_PROTOCOL)
    last().serverClose(1006)
    vi.advanceTimersByTime(1)
    expect(last().url).toBe('ws://plain/room')
    expect(last().protocols).toBeUndefined()
  })

  it('keeps offering after other failures: a server that is down is not one without the extension', () => {
    const p = make()
    const errors: unknown[] = []
    p.on('connection-error', (e) => errors.push(e))
    last().onerror?.({ type: 'error', message: 'connect ECONNREFUSED 127.0.0.1:1' })
    last().serverClose(1006)
    expect(errors).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(sockets).toHaveLength(2)
    expect(last().protocols).toBe(SAVED_ACK_PROTOCOL)
  })

  it('does not treat an error after open as a rejected offer', () => {
    make()
    last().hello()
    last().onerror?.(rejection)
    expect(sockets).toHaveLength(1)
  })
})
