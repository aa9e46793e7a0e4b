/**
 * Cross-tab sync: tabs of one browser showing the same room on the same server share document
 * updates and awareness over a BroadcastChannel, so they stay in step while the server is
 * unreachable (y-websocket's `bc` does the same).
 *
 * Who sends what to the server (the choice, and why):
 *  - A tab posts only its OWN local changes, flagged `relay` when its socket was not open at
 *    that moment. It counts them in its own `unsavedChanges`; receiving tabs never do (the
 *    originating tab tracks them, and its step 2 after reconnecting carries them).
 *  - A receiving tab forwards a `relay` update to the server over its own socket, so an edit
 *    made in a tab that cannot reach the server is stored as soon as ANY tab can. It does not
 *    forward an unflagged one: the originating tab has already sent it, and forwarding every
 *    update would store and relay each edit once per open tab.
 *  - Updates from the server are never posted: every tab has its own connection.
 * Messages are structured clones, versioned and validated like bytes from a server: a tab
 * running an older build of the app shares the channel, and any page of the origin can post
 * anything on it. A message that is not ours (not an object, another version) is ignored; one
 * of ours that fails validation, carries more than MAX_TAB_MESSAGE_BYTES, or holds an update
 * Yjs cannot apply is dropped and reported (host.dropped); bad awareness entries are dropped
 * alone. Nothing thrown while handling a message leaves onMessage (host.listenerFailed).
 */
import * as Y from 'yjs'
import type * as awarenessProtocol from 'y-protocols/awareness'
import { CloseCode, ProtocolError } from '../protocol/errors.js'
import { isEmptyUpdate, validateUpdate } from '../protocol/frame.js'
import { ownLeave, ownState } from './awareness.js'
import { applyAwarenessEntries, applyUpdateGuarded, readAwarenessGuarded } from './input.js'
import type { BroadcastChannelConstructor, BroadcastChannelLike, UrlSource } from './types.js'
import { normalizeBase } from './socket.js'

/** Transaction origin of an update applied from another tab. */
export interface TabOrigin {
  readonly kind: 'tab'
  /** The posting tab could not reach the server: a connected tab should forward the update. */
  readonly relay: boolean
}

/** What the channel needs from its provider. */
export interface TabHost {
  readonly doc: Y.Doc
  readonly awareness: awarenessProtocol.Awareness
  /** True while this tab's socket is open, i.e. what it posts also reaches the server through it. */
  online(): boolean
  /** A message (or some awareness entries of one) from another tab was dropped. */
  dropped(error: ProtocolError): void
  /** Applying another tab's update left the Y.Doc unusable (reason 'doc-broken'). */
  docBroken(error: ProtocolError): void
  /** An application listener threw while a message from another tab was handled. */
  listenerFailed(error: unknown): void
}

/**
 * Most bytes one message from another tab may carry (its update and state vector together):
 * the server's default MAX_PAYLOAD_BYTES. A larger one is dropped before any parsing.
 */
export const MAX_TAB_MESSAGE_BYTES = 16 * 1024 * 1024
/** Longest tab id accepted (ours are UUIDs); a welcome echoes it back. */
const MAX_TAB_ID_LENGTH = 256

type TabMessage =
  /** a change made in the posting tab (or what it had that a new tab lacked) */
  | { v: 1; t: 'update'; update: Uint8Array; relay: boolean }
  /** a tab joined: here is my state vector */
  | { v: 1; t: 'hello'; from: string; sv: Uint8Array }
  /** answer to `hello`: what you lack, and my state vector so you can send me what I lack */
  | { v: 1; t: 'welcome'; to: string; update: Uint8Array; sv: Uint8Array; relay: boolean }
  | { v: 1; t: 'awareness'; update: Uint8Array }

/** The channel name: one per server and room (BroadcastChannel is already scoped to the page's origin). */
export function tabChannelName(url: UrlSource, room: string): string {
  // A url function cannot be known in advance: such tabs share by room alone.
  const server =
    typeof url === 'string' ? normalizeBase(url) : typeof url === 'function' ? '' : [...url].map(normalizeBase).sort().join(' ')
  return `tandem-sync ${server} ${room}`
}

const bytes = (value: unknown): value is Uint8Array => value instanceof Uint8Array
const tabId = (value: unknown): value is string => typeof value === 'string' && value.length <= MAX_TAB_ID_LENGTH

const malformed = (what: string): ProtocolError => new ProtocolError(`malformed message from another tab: ${what}`, CloseCode.InvalidPayload, 'malformed')

/** A message of ours; null when it is not one (ignored); a ProtocolError when it is, but invalid. */
function parse(data: unknown): TabMessage | ProtocolError | null {
  if (typeof data !== 'object' || data === null) return null
  const m = data as Record<string, unknown>
  if (m.v !== 1) return null
  let message: TabMessage | null
  switch (m.t) {
    case 'update':
      message = bytes(m.update) && typeof m.relay === 'boolean' ? { v: 1, t: 'update', update: m.update, relay: m.relay } : null
      break
    case 'hello':
      message = tabId(m.from) && bytes(m.sv) ? { v: 1, t: 'hello', from: m.from, sv: m.sv } : null
      break
    case 'welcome':
      message =
        tabId(m.to) && bytes(m.update) && bytes(m.sv) && typeof m.relay === 'boolean'
          ? { v: 1, t: 'welcome', to: m.to, update: m.update, sv: m.sv, relay: m.relay }
          : null
      break
    case 'awareness':
      message = bytes(m.update) ? { v: 1, t: 'awareness', update: m.update } : null
      break
    default:
      return malformed(`unknown type ${String(m.t).slice(0, 40)}`)
  }
  if (message === null) return malformed(`fields of '${m.t}'`)
  const size = ('update' in message ? message.update.length : 0) + ('sv' in message ? message.sv.length : 0)
  if (size > MAX_TAB_MESSAGE_BYTES) {
    return new ProtocolError(`message from another tab carries ${size} bytes (at most ${MAX_TAB_MESSAGE_BYTES})`, CloseCode.MessageTooBig, 'too-big')
  }
  return message
}

const randomId = (): string =>
  typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `${Math.random()}`.slice(2)

/** Decodes a state vector from another tab; null when it is not one. */
function stateVector(sv: Uint8Array): Uint8Array | null {
  try {
    Y.decodeStateVector(sv)
    return sv
  } catch {
    return null
  }
}

const badStateVector = (): ProtocolError => new ProtocolError('invalid state vector from another tab', CloseCode.InvalidPayload, 'invalid-state-vector')

export class TabChannel {
  /** Origin of an update from a tab whose own socket carries it to the server. */
  readonly fromTab: TabOrigin = Object.freeze({ kind: 'tab', relay: false })
  /** Origin of an update from a tab that could not reach the server: forward it. */
  readonly fromOfflineTab: TabOrigin = Object.freeze({ kind: 'tab', relay: true })
  /** Awareness client ids announced over the channel: reachable without the server. */
  private readonly peers = new Set<number>()
  private readonly id = randomId()
  private channel: BroadcastChannelLike | null

  constructor(
    Impl: BroadcastChannelConstructor,
    name: string,
    private readonly host: TabHost,
  ) {
    this.channel = new Impl(name)
    this.channel.onmessage = this.onMessage
    this.post({ v: 1, t: 'hello', from: this.id, sv: Y.encodeStateVector(host.doc) })
    if (host.awareness.getLocalState() !== null) this.postAwareness(ownState(host.awareness))
  }

  owns(origin: unknown): origin is TabOrigin {
    return origin === this.fromTab || origin === this.fromOfflineTab
  }

  /** Awareness ids of other tabs: kept when the server connection ends. */
  get awarenessPeers(): ReadonlySet<number> {
    return this.peers
  }

  /** A local change of this tab. */
  postUpdate(update: Uint8Array): void {
    this.post({ v: 1, t: 'update', update, relay: !this.host.online() })
  }

  /** Our own awareness state changed. */
  postAwareness(update: Uint8Array): void {
    this.post({ v: 1, t: 'awareness', update })
  }

  /** These awareness states were removed (left, timed out): no longer a tab we know. */
  forget(ids: readonly number[]): void {
    for (const id of ids) this.peers.delete(id)
  }

  /** Tells the other tabs we left and closes the channel. Idempotent. */
  close(): void {
    const channel = this.channel
    if (channel === null) return
    this.channel = null
    channel.onmessage = null
    try {
      if (this.host.awareness.getLocalState() !== null) channel.postMessage({ v: 1, t: 'awareness', update: ownLeave(this.host.awareness) })
    } finally {
      channel.close()
    }
  }

  private post(message: TabMessage): void {
    this.channel?.postMessage(message)
  }

  private readonly onMessage = (event: { readonly data: unknown }): void => {
    try {
      this.receive(event.data)
    } catch (error) {
      // Input is refused where it is read, so this is an application listener (doc observer,
      // awareness or provider listener). Never out of a channel's event handler: uncaught.
      this.host.listenerFailed(error)
    }
  }

  private receive(data: unknown): void {
    let m: TabMessage | ProtocolError | null
    try {
      m = parse(data)
    } catch (error) {
      // A getter or proxy that throws (a structured clone has neither; a page can still post one
      // to a BroadcastChannel polyfill or a test double).
      m = malformed(`unreadable (${error instanceof Error ? error.message : typeof error})`)
    }
    if (m === null) return // another build of the app, or not ours: nothing we can act on
    if (m instanceof ProtocolError) {
      this.host.dropped(m)
      return
    }
    const { doc, awareness } = this.host
    switch (m.t) {
      case 'update':
        this.apply(m.update, m.relay)
        return
      case 'hello': {
        const sv = stateVector(m.sv)
        if (sv === null) {
          this.host.dropped(badStateVector())
          return
        }
        const update = Y.encodeStateAsUpdate(doc, sv)
        this.post({ v: 1, t: 'welcome', to: m.from, update, sv: Y.encodeStateVector(doc), relay: !this.host.online() })
        if (awareness.getLocalState() !== null) this.postAwareness(ownState(awareness))
        return
      }
      case 'welcome': {
        if (m.to !== this.id) return
        if (!this.apply(m.update, m.relay)) return
        const sv = stateVector(m.sv)
        if (sv === null) {
          this.host.dropped(badStateVector())
          return
        }
        const missing = Y.encodeStateAsUpdate(doc, sv)
        if (!isEmptyUpdate(missing)) this.postUpdate(missing)
        return
      }
      case 'awareness':
        this.applyAwareness(m.update)
        return
    }
  }

  /** Applies another tab's update; false when it was dropped. */
  private apply(update: Uint8Array, relay: boolean): boolean {
    if (isEmptyUpdate(update)) return true
    try {
      validateUpdate(update) // a truncated update can half-apply (see validateUpdate in protocol/frame.ts)
    } catch (error) {
      this.host.dropped(error as ProtocolError) // validateUpdate throws nothing else
      return false
    }
    // Throws only what an application observer threw; Yjs' own failures come back as values.
    const failure = applyUpdateGuarded(this.host.doc, update, relay ? this.fromOfflineTab : this.fromTab)
    if (failure === null) return true
    if (failure.reason === 'doc-broken') this.host.docBroken(failure)
    else this.host.dropped(failure)
    return false
  }

  private applyAwareness(update: Uint8Array): void {
    let read: ReturnType<typeof readAwarenessGuarded>
    try {
      read = readAwarenessGuarded(update)
    } catch (error) {
      this.host.dropped(error as ProtocolError) // its framing is broken: no entry can be trusted
      return
    }
    // No tab speaks for this one: what another tab says about our own client id is ignored.
    const own = this.host.awareness.clientID
    const entries = read.entries.filter((e) => e.clientID !== own)
    for (const e of entries) {
      if (e.state === null) this.peers.delete(e.clientID)
      else this.peers.add(e.clientID)
    }
    try {
      applyAwarenessEntries(this.host.awareness, entries, this.fromTab)
    } finally {
      if (read.dropped !== null) this.host.dropped(read.dropped)
    }
  }
}
