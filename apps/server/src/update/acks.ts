import { writeSaved } from '@tandem/sync'

/**
 * "Saved" acknowledgements for one connection (the server's half of the `tandem-saved-v1`
 * extension; the client's half is its saved tracker): which of the document-update messages it
 * sent are durably stored. Messages are numbered in arrival order (sync step 2 and update alike);
 * `Saved(n)` tells the client that its first `n` are stored. Counts are cumulative, so a message
 * waiting for its commit holds back the acknowledgement of every later one.
 *
 * Only connections that negotiated the extension (and may write) have one: a stock y-websocket
 * client costs nothing here.
 */
export class AckTracker {
  private received = 0
  /** messages handed to the commit queue and not committed (or refused) yet */
  private inFlight = 0
  private acked = 0
  /** the highest count the commits so far allow, holds aside */
  private allowed = 0
  /** message numbers with a part the room could not integrate yet (update/pending.ts): no ack from the lowest on */
  private holds: number[] | undefined

  constructor(private readonly send: (frame: Uint8Array) => void) {}

  /** Right after the upgrade: Saved(0) tells the client the extension is real. */
  hello(): void {
    this.send(writeSaved(0))
  }

  /**
   * A sync step 2 / update message arrived; returns its number. `queued`: it went to the commit
   * queue. Otherwise (empty, or nothing new) it is as saved as it will ever be once nothing is
   * ahead of it.
   */
  receive(queued: boolean): number {
    this.received++
    if (queued) this.inFlight++
    else if (this.inFlight === 0) this.ack(this.received)
    return this.received
  }

  /** `n` of this connection's messages were committed, the last of them number `through`. */
  stored(n: number, through: number): void {
    this.inFlight -= n
    // With nothing else in flight, every message received so far is covered (empty ones after `through` too).
    this.ack(this.inFlight === 0 ? this.received : through)
  }

  /** Message `n` has a part the room parked: acknowledge nothing from it on until released. */
  hold(n: number): void {
    ;(this.holds ??= []).push(n)
  }

  /** The parked part of message `n` was integrated and stored. */
  release(n: number): void {
    const i = this.holds?.indexOf(n) ?? -1
    if (i < 0) return
    this.holds!.splice(i, 1)
    if (this.holds!.length === 0) this.holds = undefined
    this.ack(this.allowed)
  }

  private ack(count: number): void {
    if (count > this.allowed) this.allowed = count
    if (this.holds) count = Math.min(this.allowed, Math.min(...this.holds) - 1)
    if (count <= this.acked) return
    this.acked = count
    this.send(writeSaved(count))
  }
}

/** Stage 5: tells each sender of a commit's arrivals how far its updates are stored. */
export function acknowledgeAll(arrivals: ReadonlyArray<{ from: { readonly acks: AckTracker | undefined } | undefined; message: number }>): void {
  if (arrivals.length === 1) {
    const a = arrivals[0]!
    a.from?.acks?.stored(1, a.message)
    return
  }
  const perSender = new Map<AckTracker, { n: number; through: number }>()
  for (const a of arrivals) {
    const acks = a.from?.acks
    if (!acks) continue
    const c = perSender.get(acks)
    if (c) {
      c.n++
      c.through = a.message
    } else perSender.set(acks, { n: 1, through: a.message })
  }
  for (const [acks, c] of perSender) acks.stored(c.n, c.through)
}
