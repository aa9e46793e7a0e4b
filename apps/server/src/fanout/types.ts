/**
 * Fanout: carries a room's accepted updates and awareness to the other servers sharing the
 * same store. The in-process implementation is a no-op (one server). Messages a server
 * published itself are never delivered back to it.
 */
export type FanoutKind = 'update' | 'awareness'

export interface FanoutMessage {
  kind: FanoutKind
  payload: Uint8Array
}

export interface Fanout {
  readonly kind: string
  /** Resolves once messages for `room` published from now on will reach `onMessage`. */
  subscribe(room: string, onMessage: (msg: FanoutMessage) => void): Promise<void>
  unsubscribe(room: string): Promise<void>
  /** Fire-and-forget; durability comes from the store, not from the fan-out. */
  publish(room: string, msg: FanoutMessage): void
  health(): Promise<{ ok: boolean; detail?: string }>
  close(): Promise<void>
}

/** One server, nothing to fan out to. */
export function createLocalFanout(): Fanout {
  return {
    kind: 'local',
    subscribe: async () => {},
    unsubscribe: async () => {},
    publish: () => {},
    health: async () => ({ ok: true }),
    close: async () => {},
  }
}
