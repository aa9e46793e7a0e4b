import type { ProviderLike, StatusEvent } from './provider-like.js'
import type { SaveState } from './save-tracker.js'

export type BadgeState = 'connecting' | 'live' | 'offline' | 'denied'

/** live = connected AND the initial exchange finished, so what you see is the server's document. */
export function badgeState(provider: ProviderLike, permanent: boolean): BadgeState {
  if (permanent) return 'denied'
  if (provider.status === 'connected') return provider.synced ? 'live' : 'connecting'
  if (provider.status === 'connecting') return 'connecting'
  return 'offline'
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
export function mountConnectionBadge(container: HTMLElement, provider: ProviderLike, tracker: SaveState): () => void {
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
  const render = () => {
    const state = badgeState(provider, permanent)
    badge.dataset.status = state
    badge.dataset.saved = String(!tracker.pending)
    label.textContent = LABEL[state]
    saved.textContent = !tracker.pending
      ? 'All changes saved'
      : state === 'live'
        ? 'Saving…'
        : 'Unsaved changes'
    badge.title =
      state === 'offline'
        ? 'Not connected. Keep editing: your changes are sent when the connection returns.'
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
  const offChange = tracker.onChange(render)
  render()
  return () => {
    provider.off('status', onStatus)
    provider.off('synced', render)
    offChange()
    badge.remove()
  }
}
