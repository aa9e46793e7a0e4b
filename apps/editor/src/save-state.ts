import type { ProviderStatus, SavedState, SyncProvider } from '@tandem/sync/provider'

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
   * true only once a server has said it acknowledges stored changes (docs/protocol.md).
   * Otherwise (not connected yet, a stock y-websocket server, a read-only connection)
   * `pending` may never clear, so a UI must not present it as "saved".
   */
  readonly known: boolean
  /**
   * true when a local store (IndexedDB) keeps every edit on this device, so unsaved changes
   * survive closing the tab; false means they live only in this tab's memory.
   */
  readonly localCopy: boolean
  /** Calls `cb` whenever `unsaved` or `known` changes; returns the unsubscribe function. */
  onChange(cb: () => void): () => void
}

type SaveSource = Pick<SyncProvider, 'unsavedChanges' | 'savedState' | 'on' | 'off'>

export function saveStateOf(provider: SaveSource, localCopy = false): SaveState {
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
    localCopy,
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

/**
 * What the saved indicator says. 'none' = no claim at all: the server does not acknowledge
 * stored changes (or has not said yet), so the badge shows the connection state only.
 */
export type SaveIndicator = 'none' | 'saving' | 'saved' | 'offline-unsaved' | 'offline'

/**
 * The rules of docs/protocol.md ("What an editor shows"), from the provider's state
 * alone: never from a timer, so "saved" is only ever said after the server acknowledged.
 */
export function saveIndicator(status: ProviderStatus, savedState: SavedState, unsaved: number): SaveIndicator {
  if (savedState !== 'supported') return 'none'
  if (status !== 'connected') return unsaved > 0 ? 'offline-unsaved' : 'offline'
  return unsaved > 0 ? 'saving' : 'saved'
}

const changes = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`

/**
 * The indicator's words. "Kept on this device" only with a local copy: without one, closing
 * the tab loses them, and the badge must not promise otherwise.
 */
export function saveIndicatorText(indicator: SaveIndicator, unsaved: number, localCopy: boolean): string {
  switch (indicator) {
    case 'none':
      return ''
    case 'saving':
      return 'Saving…'
    case 'saved':
      return 'All changes saved'
    case 'offline':
      return 'Offline'
    case 'offline-unsaved':
      return localCopy ? `Offline — ${changes(unsaved, 'change')} kept on this device` : `Offline — ${changes(unsaved, 'unsaved change')}`
  }
}
