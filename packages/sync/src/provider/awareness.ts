/**
 * Awareness (presence) helpers shared by the socket side and the cross-tab side of SyncProvider.
 */
import * as awarenessProtocol from 'y-protocols/awareness'

type Awareness = awarenessProtocol.Awareness

/** Payload of Awareness' 'update' event. */
export interface AwarenessChange {
  added: number[]
  updated: number[]
  removed: number[]
}

/**
 * Only our own state is ours to announce ('local' from setLocalState, or an app removing it).
 * Re-sending remote peers' states, as y-websocket does, only echoes them back.
 */
export const touchesOwn = ({ added, updated, removed }: AwarenessChange, own: number): boolean =>
  added.includes(own) || updated.includes(own) || removed.includes(own)

/** Our own state as an awareness update. */
export const ownState = (awareness: Awareness): Uint8Array =>
  awarenessProtocol.encodeAwarenessUpdate(awareness, [awareness.clientID])

/** "We left" (our state = null), without changing the local awareness. */
export const ownLeave = (awareness: Awareness): Uint8Array =>
  awarenessProtocol.encodeAwarenessUpdate(awareness, [awareness.clientID], new Map())

/** Every state we know, as the answer to query-awareness. */
export const allStates = (awareness: Awareness): Uint8Array =>
  awarenessProtocol.encodeAwarenessUpdate(awareness, [...awareness.getStates().keys()])

/**
 * Offline, we cannot know who else is still there; y-websocket clears them the same way. Peers
 * in `keep` (other tabs of this browser, reachable without the server) stay.
 */
export function forgetRemotePeers(awareness: Awareness, keep: ReadonlySet<number>, origin: unknown): void {
  const own = awareness.clientID
  const forget = (id: number): boolean => id !== own && !keep.has(id)
  const remote = [...awareness.getStates().keys()].filter(forget)
  if (remote.length > 0) awarenessProtocol.removeAwarenessStates(awareness, remote, origin)
  // Forget their clocks too: after we reconnect the server replays each peer's current state
  // with the clock we already saw, and applyAwarenessUpdate drops a state whose clock is not
  // newer, so peers would stay invisible until their next change or 15 s renewal.
  for (const id of [...awareness.meta.keys()]) if (forget(id)) awareness.meta.delete(id)
}

/** The 1-byte update "0 entries": the server's keep-alive, checked without parsing. */
export const isEmptyAwarenessUpdate = (update: Uint8Array): boolean => update.length === 1 && update[0] === 0
