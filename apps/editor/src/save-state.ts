import type { SavedState, SyncProvider } from '@tandem/sync'

/**
 * "Have all my edits reached the server?", read from the provider: a Tandem server
 * acknowledges each stored change (the Saved extension), and SyncProvider counts the local
 * changes still waiting for one (`unsavedChanges`).
 */
export interface SaveState {
  /** some local edit is not yet known to be durably stored */
  readonly pending: boolean
  /** how many local changes are not yet known to be stored */
  readonly unsaved: number
  /**
   * true only once a server has said it acknowledges stored changes (docs/protocol-saved.md).
   * Otherwise (not connected yet, a stock y-websocket server, a read-only connection)
   * `pending` may never clear, so a UI must not present it as "saved".
   */
  readonly known: boolean
  /** Calls `cb` whenever `pending` or `known` changes; returns the unsubscribe function. */
  onChange(cb: () => void): () => void
}

type SaveSource = Pick<SyncProvider, 'unsavedChanges' | 'savedState' | 'on' | 'off'>

export function saveStateOf(provider: SaveSource): SaveState {
  return {
    get pending() {
      return provider.unsavedChanges > 0
    },
    get unsaved() {
      return provider.unsavedChanges
    },
    get known() {
      return provider.savedState === 'supported'
    },
    onChange(cb) {
      const onCount = (_count: number) => cb()
      const onState = (_state: SavedState) => cb()
      provider.on('unsaved-changes', onCount)
      provider.on('saved-state', onState)
      return () => {
        provider.off('unsaved-changes', onCount)
        provider.off('saved-state', onState)
      }
    },
  }
}
