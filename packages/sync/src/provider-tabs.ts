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
 * running an older build of the app shares the channel.
 */
import * as Y from 'yjs'
import * as awarenessProtocol from 'y-protocols/awareness'
import { isEmptyUpdate, readAwarenessUpdate, validateUpdate } from './frame.js'
import { ownLeave, ownState } from './provider-awareness.js'
import type { BroadcastChannelConstructor, BroadcastChannelLike, UrlSource } from './provider-types.js'
import { normalizeBase } from './provider-socket.js'

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
}

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

function parse(data: unknown): TabMessage | null {
  if (typeof data !== 'object' || data === null) return null
  const m = data as Record<string, unknown>
  if (m.v !== 1) return null
  switch (m.t) {
    case 'update':
      return bytes(m.update) && typeof m.relay === 'boolean' ? { v: 1, t: 'update', update: m.update, relay: m.relay } : null
    case 'hello':
      return typeof m.from === 'string' && bytes(m.sv) ? { v: 1, t: 'hello', from: m.from, sv: m.sv } : null
    case 'welcome':
      return typeof m.to === 'string' && bytes(m.update) && bytes(m.sv) && typeof m.relay === 'boolean'
        ? { v: 1, t: 'welcome', to: m.to, update: m.update, sv: m.sv, relay: m.relay }
        : null
    case 'awareness':
      return bytes(m.update) ? { v: 1, t: 'awareness', update: m.update } : null
    default:
      return null
  }
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
    const m = parse(event.data)
    if (m === null) return // another build of the app, or not ours: nothing we can act on
    const { doc, awareness } = this.host
    switch (m.t) {
      case 'update':
        this.apply(m.update, m.relay)
        return
      case 'hello': {
        const sv = stateVector(m.sv)
        if (sv === null) return
        const update = Y.encodeStateAsUpdate(doc, sv)
        this.post({ v: 1, t: 'welcome', to: m.from, update, sv: Y.encodeStateVector(doc), relay: !this.host.online() })
        if (awareness.getLocalState() !== null) this.postAwareness(ownState(awareness))
        return
      }
      case 'welcome': {
        if (m.to !== this.id) return
        this.apply(m.update, m.relay)
        const sv = stateVector(m.sv)
        if (sv === null) return
        const missing = Y.encodeStateAsUpdate(doc, sv)
        if (!isEmptyUpdate(missing)) this.postUpdate(missing)
        return
      }
      case 'awareness':
        this.applyAwareness(m.update)
        return
    }
  }

  private apply(update: Uint8Array, relay: boolean): void {
    if (isEmptyUpdate(update)) return
    try {
      validateUpdate(update) // a truncated update can half-apply (DESIGN.md #6)
    } catch {
      return
    }
    // Not caught: a throw from here on comes from the app's document observers.
    Y.applyUpdate(this.host.doc, update, relay ? this.fromOfflineTab : this.fromTab)
  }

  private applyAwareness(update: Uint8Array): void {
    let entries: ReturnType<typeof readAwarenessUpdate>
    try {
      entries = readAwarenessUpdate(update)
    } catch {
      return
    }
    const own = this.host.awareness.clientID
    for (const e of entries) {
      if (e.clientID === own) continue
      if (e.state === null) this.peers.delete(e.clientID)
      else this.peers.add(e.clientID)
    }
    awarenessProtocol.applyAwarenessUpdate(this.host.awareness, update, this.fromTab)
  }
}
