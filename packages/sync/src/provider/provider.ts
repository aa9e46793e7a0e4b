import * as Y from 'yjs'
import * as awarenessProtocol from 'y-protocols/awareness'
import { ObservableV2 } from 'lib0/observable'
import { CloseCode, ProtocolError } from '../protocol/errors.js'
import { type Frame, isEmptyUpdate, writeAwareness, writeSyncStep1, writeSyncStep2, writeSyncUpdate } from '../protocol/frame.js'
import { type AwarenessChange, allStates, forgetRemotePeers, isEmptyAwarenessUpdate, ownLeave, ownState, touchesOwn } from './awareness.js'
import { applyAwarenessEntries, applyUpdateGuarded, type GuardedAwareness, readAwarenessGuarded } from './input.js'
import { Link } from './link.js'
import { broadcastChannelFor } from './runtime.js'
import { SavedTracker, type SavedState, type UpdateMessage } from './saved-tracker.js'
import { TabChannel, tabChannelName } from './tabs.js'
import type { CloseInfo, ProviderStatus, StatusEvent, SyncProviderOptions, TransportName } from './types.js'

export * from './types.js'

const NO_PEERS: ReadonlySet<number> = new Set()
const docBrokenReason = 'doc-broken: an update left the Y.Doc unusable; load the document into a new Y.Doc'

/**
 * Events of SyncProvider (lib0 ObservableV2: `provider.on(name, fn)`, `provider.off(name, fn)`).
 * Declared beside the class rather than in types.ts: several listeners are handed the provider,
 * and types.ts importing provider.ts would make the two modules a cycle.
 */
export interface SyncProviderEvents {
  /**
   * Every status change. Also emitted without a change of status, carrying `reason`, when the
   * server sends a permission-denied message (it closes the socket right after).
   */
  status: (event: StatusEvent) => void
  /** True once the server's sync step 2 has been applied; false when that connection ends. */
  synced: (synced: boolean) => void
  /**
   * A connection attempt or connection failed: the socket's error event, a ProtocolError for a
   * frame from the server the provider could not use (malformed, or an update Yjs could not
   * apply: reason 'invalid-update'; 'doc-broken' when it left the Y.Doc unusable, after which
   * the provider stops as on a permanent close), or what the url/token function threw or
   * rejected with.
   */
  'connection-error': (error: unknown, provider: SyncProvider) => void
  /**
   * Part or all of a message was dropped and the connection kept: awareness entries that failed
   * the presence guard (from the server or another tab; the other entries of the update still
   * apply), or a message from another tab that failed validation or exceeded
   * MAX_TAB_MESSAGE_BYTES. `error.reason` says why ('awareness-clock', 'awareness-depth',
   * 'awareness-json', 'utf8', 'awareness-client', 'invalid-update', 'too-big', 'malformed', …).
   */
  'message-dropped': (error: ProtocolError, source: 'server' | 'tab', provider: SyncProvider) => void
  /**
   * An application listener (a Y.Doc observer or 'update' listener, an Awareness listener, or a
   * listener of this provider) threw while the provider handled a socket or tab event. Caught,
   * so it never escapes into the WebSocket's or BroadcastChannel's event loop (in Node, an
   * uncaught exception ends the process); what the message carried is applied and the connection
   * stays. Logged with console.error when nothing listens for this event.
   */
  'listener-error': (error: unknown, provider: SyncProvider) => void
  /** A socket closed: the close code and reason, or null when the provider closed it itself. */
  'connection-close': (close: CloseInfo | null, provider: SyncProvider) => void
  /** `unsavedChanges` changed; the new count. */
  'unsaved-changes': (count: number) => void
  /**
   * The server acknowledged storing every local change: `unsavedChanges` dropped to 0 from more.
   * Only ever emitted on an acknowledgement from a server that speaks the extension.
   */
  saved: () => void
  /** `savedState` changed. */
  'saved-state': (state: SavedState) => void
  /** A connection opened over another transport than the last one (`transport`): 'websocket' or 'http'. */
  transport: (transport: TransportName) => void
}

/**
 * A Yjs sync client speaking y-websocket's protocol, for browsers and Node (WebSocket injected).
 *
 * Reconnects with full-jitter exponential backoff, rotates through a list of servers, fetches a
 * fresh token per attempt, detects dead links, and stops for good on close codes 4400-4499
 * (its Link, link.ts). Knows which local changes the server has durably stored when the
 * server speaks Tandem's "saved" extension (`unsavedChanges`, 'saved', `savedState`), and
 * shares updates with other tabs of the browser (tabs.ts).
 * `destroy()` undoes every listener, timer and channel it set up.
 *
 * Hostile input. Nothing a server or another tab sends makes the provider throw out of an
 * event handler (in Node an uncaught exception ends the process):
 *  - A frame from the server that cannot be read (framing, unknown type, an update or state
 *    vector Yjs cannot decode, an awareness update whose framing is broken, a text frame): the
 *    connection is closed and retried with backoff ('connection-error' carries the
 *    ProtocolError). A connection that synced and then sent bad input does not reset the
 *    backoff, so a server repeating it meets a growing delay, never a hot loop.
 *  - Awareness entries (server or tab) are checked one by one before anything applies them
 *    (input.ts): client id and clock ≤ 2^53 − 1, the state valid UTF-8 JSON nested at
 *    most 64 deep. A bad entry is dropped alone ('message-dropped'); the rest apply.
 *  - An update Yjs throws on while applying it: 'invalid-update', the connection is closed and
 *    retried with backoff (from a tab: the message is dropped). When the throw left the Y.Doc
 *    mid-transaction (Yjs' recursive GC of a type nested thousands deep does), the doc can never
 *    emit or observe a change again: the provider stops as on a permanent close, reason
 *    'doc-broken', and the application must load the document into a new Y.Doc.
 *  - Messages from other tabs: anything that is not one of ours is ignored; one of ours that is
 *    invalid or larger than MAX_TAB_MESSAGE_BYTES (16 MiB) is dropped ('message-dropped').
 *  - A throw from an application listener while input is handled (doc observer, awareness or
 *    provider listener) is reported as 'listener-error' (console.error when nobody listens); the
 *    input is applied and the connection stays, since reconnecting would replay the same state.
 */
export class SyncProvider extends ObservableV2<SyncProviderEvents> {
  readonly room: string
  readonly doc: Y.Doc
  readonly awareness: awarenessProtocol.Awareness

  private readonly link: Link
  private readonly ownsAwareness: boolean
  private readonly tracker: SavedTracker
  /** The tracker's identity of the open connection (0 = none): acks of another one never count. */
  private connectionId = 0
  private readonly tabs: TabChannel | null
  private destroyed = false

  constructor(options: SyncProviderOptions) {
    super()
    // First: the Link validates every option it reads before anything is created.
    this.link = new Link(options, {
      opened: (mayAck) => this.opened(mayAck),
      frame: (frame) => this.frameReceived(frame),
      closing: () => this.link.send(writeAwareness(ownLeave(this.awareness))), // peers see us leave
      ended: (wasConnected) => this.connectionEnded(wasConnected),
      status: (event) => this.emit('status', [event]),
      synced: (synced) => this.emit('synced', [synced]),
      error: (error) => this.emit('connection-error', [error, this]),
      closed: (close) => this.emit('connection-close', [close, this]),
      transport: (transport) => this.emit('transport', [transport]),
      listenerFailed: (error) => this.listenerFailed(error),
    })
    this.room = this.link.room
    this.doc = options.doc
    this.ownsAwareness = options.awareness === undefined
    this.awareness = options.awareness ?? new awarenessProtocol.Awareness(this.doc)
    this.tracker = new SavedTracker(options.savedAcks ?? true)
    this.doc.on('update', this.onDocUpdate)
    this.awareness.on('update', this.onAwarenessUpdate)
    const BroadcastChannelImpl = broadcastChannelFor(options.crossTab, options.BroadcastChannel)
    this.tabs =
      BroadcastChannelImpl === undefined
        ? null
        : new TabChannel(BroadcastChannelImpl, tabChannelName(options.url, this.room), {
            doc: this.doc,
            awareness: this.awareness,
            online: () => this.link.isOpen(),
            dropped: (error) => this.emit('message-dropped', [error, 'tab', this]),
            docBroken: (error) => this.link.stopForGood(error, docBrokenReason),
            listenerFailed: (error) => this.listenerFailed(error),
          })
    if (options.connect ?? true) this.connect()
  }

  /** Connection state; see the 'status' event. */
  get status(): ProviderStatus {
    return this.link.status
  }

  /** The transport of the last connection that opened ('websocket' or 'http'; undefined before the first); see the 'transport' event. */
  get transport(): TransportName | undefined {
    return this.link.transport
  }

  /** True once the server's state has been applied on the current connection. */
  get synced(): boolean {
    return this.link.synced
  }

  /**
   * Local changes of this tab not yet known to be durably stored by the server: made offline,
   * in flight, or waiting for the server's acknowledgement. Only an acknowledgement lowers it,
   * so with a server that does not acknowledge (`savedState` 'unsupported') it never drops.
   */
  get unsavedChanges(): number {
    return this.tracker.unsavedChanges
  }

  /** Whether the server acknowledges stored changes; see SavedState. */
  get savedState(): SavedState {
    return this.tracker.state
  }

  /** Connect (again), including after disconnect() or a permanent close. No-op after destroy(). */
  connect(): void {
    this.link.connect()
  }

  /** Close the connection and stop reconnecting until connect(). Peers see our awareness leave. */
  disconnect(): void {
    this.link.disconnect()
  }

  /** Disconnect and remove every listener, timer and channel the provider set up. Idempotent. */
  override destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    try {
      this.link.destroy() // emits: a throwing listener must not leave timers and listeners behind
    } finally {
      try {
        this.release()
      } finally {
        super.destroy()
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // What the Link reports (link-events.ts).

  private opened(mayAck: boolean): void {
    // First, before anything is sent: every update message from here on is numbered on this
    // connection. Only the server's hello proves it acknowledges (see frameReceived).
    this.track(() => (this.connectionId = this.tracker.opened(mayAck)))
    this.link.send(writeSyncStep1(this.doc))
    const state = this.awareness.getLocalState()
    if (state !== null) {
      // Re-set rather than re-send: a server that saw our previous connection close removed our
      // state but kept its clock, and ignores a state whose clock is not newer. Bumping the clock
      // makes peers see us at once instead of at the next 15 s renewal. onAwarenessUpdate sends it.
      this.awareness.setLocalState(state)
    }
  }

  private frameReceived(frame: Frame): void {
    if (this.tracker.awaitingHello) {
      // The hello is the server's first frame; anything else first means no acknowledgements.
      const id = this.connectionId
      if (frame.type === 'saved') this.track(() => this.tracker.hello(id))
      else this.track(() => this.tracker.noHello(id))
    }
    switch (frame.type) {
      case 'sync-step1':
        // Carries everything the server lacks, so it covers every change made offline.
        this.sendUpdate(writeSyncStep2(Y.encodeStateAsUpdate(this.doc, frame.stateVector)), 'step2')
        return
      case 'sync-step2': {
        let refused: ProtocolError | null = null
        try {
          refused = this.applyRemoteUpdate(frame.update)
        } finally {
          // The update is fully integrated even when an observer throws (Yjs calls observers
          // after); one Yjs could not apply is no sync, and does not reset the backoff.
          if (refused === null) this.link.markSynced()
        }
        if (refused !== null) this.updateRefused(refused)
        return
      }
      case 'sync-update': {
        const refused = this.applyRemoteUpdate(frame.update)
        if (refused !== null) this.updateRefused(refused)
        return
      }
      case 'awareness': {
        if (isEmptyAwarenessUpdate(frame.update)) return // the server's keep-alive
        let read: GuardedAwareness
        try {
          read = readAwarenessGuarded(frame.update)
        } catch (error) {
          this.link.protocolViolation(error) // its framing is broken: no entry can be trusted
          return
        }
        try {
          applyAwarenessEntries(this.awareness, read.entries, this)
        } finally {
          if (read.dropped !== null) this.emit('message-dropped', [read.dropped, 'server', this])
        }
        return
      }
      case 'query-awareness':
        this.link.send(writeAwareness(allStates(this.awareness)))
        return
      case 'saved':
        this.savedReceived(frame.count)
        return
      case 'auth-denied':
        return // reported by the Link as a status
    }
  }

  private connectionEnded(wasConnected: boolean): void {
    // What rode on this connection waits for the next one; counts do not change, so no event.
    this.tracker.closed(this.connectionId)
    this.connectionId = 0
    if (wasConnected) forgetRemotePeers(this.awareness, this.tabs?.awarenessPeers ?? NO_PEERS, this)
  }

  /** destroy(): undo what the provider set up. Runs even when a listener threw. */
  private release(): void {
    this.doc.off('update', this.onDocUpdate)
    this.awareness.off('update', this.onAwarenessUpdate)
    try {
      this.tabs?.close() // tells the other tabs we left: before the awareness is destroyed
    } finally {
      if (this.ownsAwareness) this.awareness.destroy()
    }
  }

  /**
   * An application listener threw while the provider handled a socket or tab event. Reported,
   * never rethrown: in a socket's or channel's event handler a throw is an uncaught exception
   * (fatal in Node), and treating it as a bad connection would reconnect in a loop, since the
   * server replays the same state on every connect.
   */
  private listenerFailed(error: unknown): void {
    if ((this._observers.get('listener-error')?.size ?? 0) > 0) {
      try {
        this.emit('listener-error', [error, this])
        return
      } catch (thrown) {
        error = thrown
      }
    }
    globalThis.console?.error('SyncProvider: an event listener threw', error)
  }

  // -------------------------------------------------------------------------------------------
  // "Saved" acknowledgements.

  private savedReceived(count: number): void {
    const id = this.connectionId
    const outcome = this.track(() => this.tracker.ack(id, count))
    if (outcome === 'invalid') {
      // Acknowledging messages we never sent: nothing this server says about storage can be trusted.
      this.link.protocolViolation(new ProtocolError(`Saved(${count}) exceeds the update messages sent`, CloseCode.InvalidPayload, 'saved-count'))
    }
  }

  /**
   * The only way a document-update message leaves: the server numbers every one it receives,
   * so one sent without being counted here would shift every later acknowledgement onto the
   * wrong changes and report them saved too early.
   */
  private sendUpdate(frame: Uint8Array, kind: UpdateMessage): void {
    // No connection known to the tracker yet: the next connection's step 2 carries it.
    if (this.connectionId === 0) return
    if (this.link.send(frame)) this.tracker.sentMessage(this.connectionId, kind)
  }

  /** Runs a tracker change, then emits what it changed. Events come last, as everywhere here. */
  private track<T>(change: () => T): T {
    const count = this.tracker.unsavedChanges
    const state = this.tracker.state
    const result = change()
    const nowState = this.tracker.state
    const now = this.tracker.unsavedChanges
    if (nowState !== state) this.emit('saved-state', [nowState])
    if (now !== count) {
      this.emit('unsaved-changes', [now])
      if (now === 0) this.emit('saved', [])
    }
    return result
  }

  // -------------------------------------------------------------------------------------------
  // Document and awareness changes.

  /**
   * Applies an update from the server (validated by checkPayload); a ProtocolError when Yjs
   * could not apply it, a throw only from an application observer (see applyUpdateGuarded).
   */
  private applyRemoteUpdate(update: Uint8Array): ProtocolError | null {
    if (isEmptyUpdate(update)) return null // what a synced peer sends as its step 2
    // Origin = this, so onDocUpdate does not echo the update back to the server.
    return applyUpdateGuarded(this.doc, update, this)
  }

  /** The server sent an update Yjs could not apply: drop the connection; for good if the doc broke. */
  private updateRefused(error: ProtocolError): void {
    if (error.reason === 'doc-broken') this.link.stopForGood(error, docBrokenReason)
    else this.link.protocolViolation(error)
  }

  private readonly onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this) return
    const tabs = this.tabs
    if (tabs !== null && tabs.owns(origin)) {
      // Another tab's change, counted by that tab. Forwarded only when that tab could not send
      // it itself (tabs.ts), and never once the server refused our writes (read-only):
      // a second refused write closes the connection.
      if (origin.relay && !this.link.denied) this.sendUpdate(writeSyncUpdate(update), 'relayed-update')
      return
    }
    // A local change: from the app, an undo manager, or a local store such as y-indexeddb
    // replaying what this device kept (which may be exactly what never reached the server).
    this.track(() => {
      this.tracker.localChange()
      this.sendUpdate(writeSyncUpdate(update), 'local-update')
    })
    tabs?.postUpdate(update)
  }

  private readonly onAwarenessUpdate = (change: AwarenessChange, origin: unknown): void => {
    if (this.tabs !== null && change.removed.length > 0) this.tabs.forget(change.removed)
    if (origin === this || (this.tabs !== null && this.tabs.owns(origin))) return
    if (!touchesOwn(change, this.awareness.clientID)) return
    if (this.tabs === null && !this.link.isOpen()) return
    const update = ownState(this.awareness)
    this.link.send(writeAwareness(update))
    this.tabs?.postAwareness(update)
  }
}
