/**
 * The bookkeeping behind SyncProvider's `unsavedChanges`: which local changes the server has
 * acknowledged as durably stored (the Saved message, see message-type.ts). Pure: no sockets,
 * no timers, no events. The provider tells it what happened, in order, and reads the result.
 *
 * Rules:
 *  1. Every local change (a document update that came neither from the server nor from
 *     another tab) is one unsaved change until a trusted acknowledgement covers it.
 *  2. Each document-update message (sync step 2 or sync update) sent on a connection gets the
 *     next number on that connection, 1, 2, 3…: the server numbers them the same way.
 *     - A sync update carrying one local change covers that change.
 *     - A sync step 2 covers EVERY change not already riding on an earlier message of the
 *       connection: it is computed from the server's state vector at the moment it is sent,
 *       so it carries everything the server lacks, including changes made while offline.
 *       (What it does not carry the server already holds, and a Tandem server only applies
 *       what it has stored.)
 *     - A message sent for someone else (an update relayed from another tab) covers nothing.
 *  3. Saved(count) on the current connection settles the changes riding on messages 1…count.
 *     It is cumulative: a count not above the last one is stale and ignored; a count above
 *     the number of messages sent is a lie, reported as 'invalid'.
 *  4. Acknowledgements are trusted only after the connection's hello (Saved(0) as the server's
 *     first frame): a server may echo the offered subprotocol without speaking it.
 *  5. When a connection ends, its unsettled changes go back to "not on any message"; the next
 *     connection's step 2 carries them again (or is empty because the server stored them in
 *     the meantime, and its acknowledgement settles them just the same). A closed connection's
 *     identity is never reused, so its late acknowledgements can never settle anything.
 */

/**
 * Whether the server acknowledges stored changes: 'unknown' until a connection tells,
 * 'supported' after a hello, 'unsupported' when the last connection did not (a server without
 * the extension, a read-only connection, or `savedAcks: false`). The last answer is kept while
 * offline. When it is not 'supported', unsavedChanges never drops, so a UI must not show it
 * as a "saved" indicator.
 */
export type SavedState = 'unknown' | 'supported' | 'unsupported'

/** What an acknowledgement did. 'invalid' means the server acknowledged more than it was sent. */
export type AckOutcome = 'applied' | 'ignored' | 'invalid'

/** A document-update message as the server counts it. */
export type UpdateMessage =
  /** sync step 2: carries everything the server lacks */
  | 'step2'
  /** sync update carrying one local change */
  | 'local-update'
  /** sync update carrying something else (relayed from another tab) */
  | 'relayed-update'

/** Changes that the acknowledgement of message `through` (or any later one) settles. */
interface Riding {
  through: number
  changes: number
}

export class SavedTracker {
  private _state: SavedState
  private readonly enabled: boolean
  /** Local changes not riding on any message of the current connection. */
  private unsent = 0
  /** Changes riding on messages of the current connection, in message order. */
  private riding: Riding[] = []
  private ridingChanges = 0
  /** Identity of the current connection; 0 = none. Never reused. */
  private current = 0
  private lastId = 0
  private trust: 'awaiting-hello' | 'trusted' | 'untrusted' = 'untrusted'
  /** Messages sent / acknowledged on the current connection. */
  private sent = 0
  private acked = 0

  /** `enabled: false` (the provider's `savedAcks: false`): never trust an acknowledgement. */
  constructor(enabled = true) {
    this.enabled = enabled
    this._state = enabled ? 'unknown' : 'unsupported'
  }

  /** Local changes not yet known to be stored. */
  get unsavedChanges(): number {
    return this.unsent + this.ridingChanges
  }

  get state(): SavedState {
    return this._state
  }

  /** True while the current connection may still prove it speaks the extension. */
  get awaitingHello(): boolean {
    return this.current !== 0 && this.trust === 'awaiting-hello'
  }

  /**
   * A connection opened; returns its identity. `mayAck`: we offered the extension and the
   * server did not decline it, so a hello may follow. Otherwise the server is 'unsupported'.
   */
  opened(mayAck: boolean): number {
    this.closed(this.current)
    this.current = ++this.lastId
    this.sent = 0
    this.acked = 0
    this.trust = this.enabled && mayAck ? 'awaiting-hello' : 'untrusted'
    if (this.trust === 'untrusted') this._state = 'unsupported'
    return this.current
  }

  /** The connection ended: what rode on it goes back to waiting for the next one. */
  closed(id: number): void {
    if (id === 0 || id !== this.current) return
    this.unsent += this.ridingChanges
    this.riding = []
    this.ridingChanges = 0
    this.current = 0
    this.trust = 'untrusted'
  }

  /** The server's hello arrived on connection `id`: its acknowledgements count from now on. */
  hello(id: number): void {
    if (id !== this.current || this.trust !== 'awaiting-hello') return
    this.trust = 'trusted'
    this._state = 'supported'
  }

  /** Something other than a hello came first on connection `id`: it will never acknowledge. */
  noHello(id: number): void {
    if (id !== this.current || this.trust !== 'awaiting-hello') return
    this.trust = 'untrusted'
    this._state = 'unsupported'
  }

  /** A local change was made (whether or not it could be sent). */
  localChange(): void {
    this.unsent++
  }

  /** A document-update message left on connection `id` (call only for messages really sent). */
  sentMessage(id: number, kind: UpdateMessage): void {
    if (id === 0 || id !== this.current) return
    const through = ++this.sent
    // One local change per 'local-update' message: the provider reports the change first.
    const changes = kind === 'step2' ? this.unsent : kind === 'local-update' ? Math.min(1, this.unsent) : 0
    if (changes === 0) return
    this.unsent -= changes
    this.riding.push({ through, changes })
    this.ridingChanges += changes
  }

  /** Saved(count) arrived on connection `id`. */
  ack(id: number, count: number): AckOutcome {
    if (id !== this.current || this.trust !== 'trusted') return 'ignored'
    if (count > this.sent) return 'invalid'
    if (count <= this.acked) return 'ignored'
    this.acked = count
    let settled = 0
    let changes = 0
    while (settled < this.riding.length && this.riding[settled]!.through <= count) changes += this.riding[settled++]!.changes
    // One splice per acknowledgement, not a shift per message: a long burst stays linear.
    if (settled > 0) this.riding.splice(0, settled)
    this.ridingChanges -= changes
    return 'applied'
  }
}
