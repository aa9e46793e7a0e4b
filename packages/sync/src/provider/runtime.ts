/**
 * What the runtime offers SyncProvider: a WebSocket, a BroadcastChannel, a `window` announcing
 * 'online'. Each is looked up at run time, because the same module loads in browsers, Node and
 * workers, which have different subsets of them.
 */
import type { BroadcastChannelConstructor, WebSocketConstructor } from './types.js'

/** Minimal `window` surface for the 'online' event. */
export interface OnlineTarget {
  addEventListener(type: 'online', listener: () => void): void
  removeEventListener(type: 'online', listener: () => void): void
}

export function onlineTarget(): OnlineTarget | null {
  // Guarded at run time: the module must load in Node and workers, where there is no window.
  return typeof window !== 'undefined' && typeof window.addEventListener === 'function' ? window : null
}

export function defaultWebSocket(): WebSocketConstructor | undefined {
  return typeof WebSocket === 'function' ? WebSocket : undefined
}

/** The BroadcastChannel to use, or undefined for none (see the `crossTab` option). */
export function broadcastChannelFor(
  crossTab: boolean | undefined,
  injected: BroadcastChannelConstructor | undefined,
): BroadcastChannelConstructor | undefined {
  const global = typeof BroadcastChannel === 'function' ? BroadcastChannel : undefined
  const impl = injected ?? global
  if (crossTab === false || impl === undefined) return undefined
  if (crossTab === true || injected !== undefined) return impl
  return typeof window !== 'undefined' ? impl : undefined
}
