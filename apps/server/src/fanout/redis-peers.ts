/**
 * The other servers this one hears on Redis: when each was last heard and in which of our rooms
 * it published. A peer silent for `timeoutMs` is declared gone (it may have died between a commit
 * and its publish, and its clients' presence must go): `onGone` gets the rooms to resync. Nobody
 * is judged silent while this server itself could not hear (its subscriber was down). Times are
 * performance.now() (monotonic): a wall-clock jump must neither declare every peer silent nor keep
 * a dead one alive (test/chaos/clock.test.ts).
 */
export interface PeerServer {
  lastSeen: number
  /** rooms (subscribed here) in which this peer published: resync them if it vanishes */
  rooms: Set<string>
}

export function createPeerWatch(opts: { timeoutMs: number; onGone: (id: string, peer: PeerServer, why: 'silent' | 'bye') => void }) {
  const peers = new Map<string, PeerServer>()
  /** when this server could hear again (its subscriber came up) */
  let hearingSince = 0

  const gone = (id: string, why: 'silent' | 'bye') => {
    const peer = peers.get(id)
    if (!peer) return
    peers.delete(id)
    opts.onGone(id, peer, why)
  }

  return {
    get size(): number {
      return peers.size
    },
    /** the servers heard and not yet declared gone */
    ids(): string[] {
      return [...peers.keys()]
    },
    /** a message from `id` arrived now */
    heard(id: string, now: number): PeerServer {
      let peer = peers.get(id)
      if (!peer) {
        peer = { lastSeen: now, rooms: new Set() }
        peers.set(id, peer)
      }
      peer.lastSeen = now
      return peer
    },
    /** our subscriber is (back) up: everyone was inaudible while we were away, restart their silence clocks */
    hearing(now: number): void {
      hearingSince = now
      for (const p of peers.values()) p.lastSeen = now
    },
    /** `id` said goodbye */
    bye(id: string): void {
      gone(id, 'bye')
    },
    /** declares gone every peer silent for longer than the timeout (call periodically, subscriber up) */
    sweep(now: number): void {
      if (now - hearingSince < opts.timeoutMs) return
      for (const [id, p] of peers) if (now - p.lastSeen > opts.timeoutMs) gone(id, 'silent')
    },
  }
}
