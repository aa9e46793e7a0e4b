import type { StatusEvent, SyncProvider } from '@tandem/sync'
import type { SaveState } from './save-state.js'

/** What the badge reads from the provider. */
export type BadgeSource = Pick<SyncProvider, 'status' | 'synced' | 'on' | 'off'>

export type BadgeState = 'connecting' | 'live' | 'offline' | 'denied'

/**
 * live = connected AND the sync exchange finished, so what you see is the server's document.
 * connecting = the first connection is not up yet. Once we have been live, any other state is
 * offline: retries alternate 'connecting' and 'disconnected' many times a minute, and a badge
 * that flickers between them says nothing useful.
 */
export function badgeState(provider: BadgeSource, permanent: boolean, wasLive: boolean, online: boolean): BadgeState {
  if (permanent) return 'denied'
  if (provider.status === 'connected' && provider.synced) return 'live'
  if (wasLive || !online) return 'offline'
  return 'connecting'
}

const LABEL: Record<BadgeState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  offline: 'Offline',
  denied: 'No access',
}

/**
 * The connection badge: status dot + label, and a second line saying whether local edits
 * have reached the server. State is mirrored in data-status / data-saved for styling and tests.
 */
export function mountConnectionBadge(container: HTMLElement, provider: BadgeSource, saveState: SaveState): () => void {
  const badge = document.createElement('div')
  badge.className = 'tandem-badge'
  badge.setAttribute('role', 'status')
  badge.setAttribute('aria-live', 'polite')
  const dot = document.createElement('span')
  dot.className = 'tandem-badge-dot'
  dot.setAttribute('aria-hidden', 'true')
  const label = document.createElement('span')
  label.className = 'tandem-badge-label'
  const saved = document.createElement('span')
  saved.className = 'tandem-badge-saved'
  badge.append(dot, label, saved)
  container.append(badge)

  let permanent = false
  let wasLive = false
  const render = () => {
    const online = typeof navigator === 'undefined' || navigator.onLine !== false
    const state = badgeState(provider, permanent, wasLive, online)
    if (state === 'live') wasLive = true
    badge.dataset.status = state
    label.textContent = LABEL[state]
    // Without acknowledgements from the server we cannot know, so we say nothing.
    saved.hidden = !saveState.known
    if (saveState.known) badge.dataset.saved = String(!saveState.pending)
    else delete badge.dataset.saved
    // The rules of docs/protocol-saved.md ("Badge").
    const n = saveState.unsaved
    saved.textContent = !saveState.pending
      ? 'All changes saved'
      : state === 'live'
        ? 'Saving…'
        : `${n} unsaved ${n === 1 ? 'change' : 'changes'}`
    badge.title =
      state === 'offline'
        ? 'Not connected; reconnecting by itself. Keep editing: your changes are sent when the connection returns.'
        : state === 'denied'
          ? 'The server refused this connection (check the link or token).'
          : ''
  }
  const onStatus = (e: StatusEvent) => {
    permanent = e.permanent === true
    render()
  }
  provider.on('status', onStatus)
  provider.on('synced', render)
  const offChange = saveState.onChange(render)
  const win = typeof window === 'undefined' ? undefined : window
  win?.addEventListener('online', render)
  win?.addEventListener('offline', render)
  render()
  return () => {
    win?.removeEventListener('online', render)
    win?.removeEventListener('offline', render)
    provider.off('status', onStatus)
    provider.off('synced', render)
    offChange()
    badge.remove()
  }
}
