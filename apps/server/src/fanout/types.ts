/**
 * Fanout: carries a room's accepted updates and awareness to the other servers sharing the
 * same store. The in-process implementation is a no-op (one server). Messages a server
 * published itself are never delivered back to it.
 */
/** `deleted`: the room was deleted from the store (empty payload): see room/registry.ts `remove` */
export type FanoutKind = 'update' | 'awareness' | 'deleted'

export interface FanoutMessage {
  kind: FanoutKind
  payload: Uint8Array
}

/**
 * What a subscriber receives: published messages, plus 'presence-query' when another server
 * just opened the room and asks for the presence of our clients in it.
 */
export type FanoutDelivery = FanoutMessage | { kind: 'presence-query'; payload: Uint8Array }

export interface Fanout {
  readonly kind: string
  /**
   * Resolves once messages for `room` published from now on will reach `onMessage`, or, when the
   * fan-out is down (or does not acknowledge in time), once a later `onResync` naming `room` is
   * guaranteed, so a room can still open during an outage without missing anything for good.
   */
  subscribe(room: string, onMessage: (msg: FanoutDelivery) => void): Promise<void>
  unsubscribe(room: string): Promise<void>
  /** Fire-and-forget; durability comes from the store, not from the fan-out. */
  publish(room: string, msg: FanoutMessage): void
  health(): Promise<{ ok: boolean; detail?: string }>
  close(): Promise<void>
  /**
   * OPTIONAL (a fan-out that can lose messages implements it; the local one cannot lose any).
   * `cb` receives subscribed rooms whose messages may have been missed: after the subscriber link
   * to the broker comes back, after a subscription that was not acknowledged in time finally is,
   * when a peer server vanished (it may have committed updates it never published), or when a
   * peer reports that it dropped outgoing messages. The server must then catch up from the store,
   * the source of truth: every update is committed there before any server relays or publishes it,
   * so reading a room's rows newer than what the room last read from the store (see
   * `DocStore.loadSince`) and applying them converges the room. Returns a function removing `cb`.
   */
  onResync?(cb: (rooms: readonly string[]) => void): () => void
  /**
   * OPTIONAL (several servers): this server now has `clients` connections in `room`, so other
   * servers can count them in the room listing. Cheap and fire-and-forget (coalesced).
   */
  setClients?(room: string, clients: number): void
  /**
   * OPTIONAL: how many clients the OTHER servers have in each of `rooms` (a room absent = 0), or
   * undefined when that cannot be known right now (the listing then counts this server's only).
   */
  remoteClients?(rooms: readonly string[]): Promise<Map<string, number> | undefined>
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
