import type { StatusEvent, SyncProvider } from '@tandem/sync/provider'
import { saveIndicator, saveIndicatorText, type SaveIndicator, type SaveState } from './save-state.js'

/** What the badge reads from the provider. */
export type BadgeSource = Pick<SyncProvider, 'status' | 'synced' | 'savedState' | 'on' | 'off'> & Partial<Pick<SyncProvider, 'transport'>>

export type BadgeState = 'connecting' | 'live' | 'offline' | 'denied'

/**
 * live = connected AND the sync exchange finished, so what you see is the server's document.
 * connecting = the first connection is not up yet. Once we have been live, any other state is
 * offline: retries alternate 'connecting' and 'disconnected' many times a minute, and a badge
 * that flickers between them says nothing useful.
 */
function badgeState(provider: BadgeSource, permanent: boolean, wasLive: boolean, online: boolean): BadgeState {
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

/** The badge's tooltip: the longer story behind its one line. */
const TITLE: Record<BadgeState | Exclude<SaveIndicator, 'none'>, string> = {
  connecting: 'Connecting to the server…',
  live: "Connected: you see everyone's edits as they happen.",
  offline: 'Not connected; reconnecting by itself. Keep editing: your changes are sent when the connection returns.',
  denied: 'The server refused this connection (check the link or token).',
  saving: 'Connected; waiting for the server to confirm it has stored your latest changes.',
  saved: 'Connected; the server has stored every change you made.',
  'offline-unsaved': 'Not connected; reconnecting by itself. Your changes are sent when the connection returns.',
}

/** Only real changes touch the DOM: the badge is an aria-live region, rewrites get re-announced. */
function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text
}

/**
 * The connection badge: a status dot and one line of text. With a server that acknowledges
 * stored changes the text is the saved indicator ([data-testid="save-state"]): "Saving…",
 * "All changes saved", "Offline — N changes kept on this device" or "Offline", derived from the
 * provider's status, savedState and unsavedChanges (saveIndicator), never from a timer.
 * Without acknowledgements it is neutral: the connection state only (Connecting…, Live,
 * Offline, No access). State is mirrored in data-status / data-saved on the badge and
 * data-state on the indicator, for styling and tests.
 */
export function mountConnectionBadge(container: HTMLElement, provider: BadgeSource, saveState: SaveState): () => void {
  const badge = document.createElement('div')
  badge.className = 'tandem-badge'
  badge.dataset.testid = 'connection-badge'
  badge.setAttribute('role', 'status')
  badge.setAttribute('aria-live', 'polite')
  const dot = document.createElement('span')
  dot.className = 'tandem-badge-dot'
  dot.setAttribute('aria-hidden', 'true')
  const label = document.createElement('span')
  label.className = 'tandem-badge-label'
  const saved = document.createElement('span')
  saved.className = 'tandem-badge-saved'
  saved.dataset.testid = 'save-state'
  badge.append(dot, label, saved)
  container.append(badge)

  let permanent = false
  let wasLive = false
  const render = () => {
    const online = typeof navigator === 'undefined' || navigator.onLine !== false
    const state = badgeState(provider, permanent, wasLive, online)
    if (state === 'live') wasLive = true
    badge.dataset.status = state
    // A refused connection says so; what the device keeps no longer matters to this server.
    const indicator = state === 'denied' ? 'none' : saveIndicator(provider.status, provider.savedState, saveState.unsaved)
    saved.dataset.state = indicator
    setText(saved, saveIndicatorText(indicator, saveState.unsaved, saveState.localCopy))
    saved.hidden = indicator === 'none'
    // One line: the indicator already names the connection state when it shows.
    setText(label, indicator === 'none' ? LABEL[state] : '')
    label.hidden = indicator !== 'none'
    // Without acknowledgements from the server we cannot know, so we claim nothing.
    if (saveState.known) badge.dataset.saved = String(!saveState.pending)
    else delete badge.dataset.saved
    // The transport (a proxy that refuses WebSockets leaves HTTP long-polling): told, never shouted.
    const via = provider.transport === 'http' ? ' Connection: HTTP long-polling.' : provider.transport === 'websocket' ? ' Connection: WebSocket.' : ''
    badge.title = TITLE[indicator === 'none' ? state : indicator] + via
    if (provider.transport) badge.dataset.transport = provider.transport
  }
  const onStatus = (e: StatusEvent) => {
    permanent = e.permanent === true
    render()
  }
  provider.on('status', onStatus)
  provider.on('synced', render)
  provider.on('transport', render)
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
    provider.off('transport', render)
    offChange()
    badge.remove()
  }
}
