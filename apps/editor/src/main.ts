import './styles/page.css'
import { mountEditor } from './mount-editor.js'
import { mountPresence } from './presence.js'
import { mountConnectionBadge } from './connection-badge.js'
import { cleanName, colorForName, rememberUser, resolveUser, type EditorUser } from './identity.js'
import { devServerUrl, ensureRoom, serverUrl, shareLink } from './location.js'
import { readRecent, recentHref, rememberRecent, type RecentDocument } from './recent.js'

/**
 * The demo page: /?room=<room>&name=<name>[&token=<jwt>][&server=<ws url>].
 * Everything collaborative lives in mountEditor; this file only wires the page chrome.
 */
const params = new URLSearchParams(location.search)
// Opened without a room: a new document, and the recent list opens as the start page.
const fresh = !params.get('room')?.trim()
const room = ensureRoom()
const url = serverUrl(location, devServerUrl())
let user: EditorUser = resolveUser(params.get('name'))

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T

const mounted = mountEditor($('editor'), {
  url,
  room,
  user,
  token: params.get('token') ?? undefined,
  statusBar: false,
  offline: true,
})
mounted.editor.commands.focus('end')

$('room-name').textContent = room

// The tab shows the document's title (its first heading), and this browser's recent list keeps it.
const server = params.get('server') ?? undefined
let shownRecent = false
mounted.onTitleChange((title) => {
  document.title = `${title || room} · Tandem`
  // A fresh room is listed once someone writes in it: an empty new tab is no document yet.
  if (title || !fresh || shownRecent) {
    rememberRecent({ room, ...(server ? { server } : {}), title, at: Date.now() })
    shownRecent = true
  }
})
document.title = `${mounted.title || room} · Tandem`
if (!fresh) rememberRecent({ room, ...(server ? { server } : {}), title: readRecent().find((e) => e.room === room && e.server === server)?.title ?? '', at: Date.now() })

const recent = $<HTMLDetailsElement>('recent')
const renderRecent = () => {
  const list = $('recent-list')
  const entries = readRecent().filter((e: RecentDocument) => !(e.room === room && e.server === server))
  list.replaceChildren(
    ...(entries.length
      ? entries.map((entry) => {
          const li = document.createElement('li')
          const a = document.createElement('a')
          a.href = recentHref(entry, location.href)
          const title = document.createElement('span')
          title.className = 'recent-title'
          title.textContent = entry.title || 'Untitled'
          const meta = document.createElement('span')
          meta.className = 'recent-meta'
          meta.textContent = `${entry.room} · ${new Date(entry.at).toLocaleString()}`
          a.append(title, meta)
          li.append(a)
          return li
        })
      : [Object.assign(document.createElement('li'), { className: 'recent-empty', textContent: 'No other documents yet.' })]),
  )
}
recent.addEventListener('toggle', () => {
  if (recent.open) renderRecent()
})
recent.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && recent.open) {
    recent.open = false
    recent.querySelector('summary')?.focus()
  }
})
document.addEventListener('click', (ev) => {
  if (recent.open && !recent.contains(ev.target as Node)) recent.open = false
})
if (fresh && readRecent().length > 0) recent.open = true

// The page lives as long as the tab: these are never torn down (Vite's dev server reloads the
// whole page when a module changes).
mountConnectionBadge($('connection'), mounted.provider, mounted.saveState)
mountPresence($('presence'), mounted.awareness)

// The page itself must open without a network too, or the IndexedDB copy could never be
// shown offline: public/sw.js keeps the page and its assets. Built pages only (in `pnpm dev`
// it would cache Vite's modules). Browsers allow service workers only on https and localhost:
// elsewhere the page still works, it just cannot be opened offline.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js').catch((err: unknown) => {
    console.warn('Tandem: this page will not open offline (service worker not registered):', err)
  })
}

// Identity: editable in place; Enter or leaving the field applies it.
const nameInput = $<HTMLInputElement>('name')
const avatar = $('me-color')
const showUser = () => {
  nameInput.value = user.name
  avatar.style.backgroundColor = user.color
}
showUser()
const applyName = () => {
  const name = cleanName(nameInput.value)
  if (!name) return showUser()
  if (name === user.name) return
  // Your colour stays yours when you rename yourself.
  user = { name, color: user.color || colorForName(name) }
  rememberUser(user)
  mounted.setUser(user)
  showUser()
  const next = new URL(location.href)
  if (next.searchParams.has('name')) {
    next.searchParams.set('name', name)
    history.replaceState(history.state, '', next)
  }
}
nameInput.addEventListener('change', applyName)
nameInput.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter') {
    ev.preventDefault()
    applyName()
    mounted.editor.commands.focus()
  } else if (ev.key === 'Escape') {
    showUser()
    mounted.editor.commands.focus()
  }
})

// Copy link: the address bar without personal parameters.
const copyButton = $<HTMLButtonElement>('copy-link')
let copyTimer: ReturnType<typeof setTimeout> | undefined
copyButton.addEventListener('click', () => void copyLink())

async function copyLink(): Promise<void> {
  const link = shareLink(location, room)
  let ok: boolean
  try {
    await navigator.clipboard.writeText(link)
    ok = true
  } catch {
    // Clipboard API refused (insecure origin or no permission): select it for a manual copy.
    ok = window.prompt('Copy this link', link) !== null
  }
  copyButton.dataset.copied = String(ok)
  copyButton.querySelector('.label')!.textContent = ok ? 'Copied' : 'Copy link'
  clearTimeout(copyTimer)
  copyTimer = setTimeout(() => {
    copyButton.querySelector('.label')!.textContent = 'Copy link'
    delete copyButton.dataset.copied
  }, 1800)
}

