/**
 * The slice of SyncProvider the editor's UI relies on. Typing against this (rather than the
 * class) keeps the badge and the save tracker honest about what they need.
 */
export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected'

export interface StatusEvent {
  status: ConnectionStatus
  closeCode?: number
  reason?: string
  /** the server refused us for good (4400-4499): no retry is coming */
  permanent?: boolean
}

export interface ProviderLike {
  readonly status: ConnectionStatus
  readonly synced: boolean
  on(event: 'status', cb: (e: StatusEvent) => void): void
  on(event: 'synced', cb: (synced: boolean) => void): void
  off(event: 'status', cb: (e: StatusEvent) => void): void
  off(event: 'synced', cb: (synced: boolean) => void): void
}
