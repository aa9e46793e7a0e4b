/**
 * Where the page connects and which room it edits, derived from the address bar so that the
 * address bar is always the share link.
 */

/** An unguessable-enough, URL-safe room id (no ambiguous characters): 12 × 5 bits = 60 bits. */
export function randomRoomId(length = 12): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789' // no i, l, o, 0, 1
  const bytes = new Uint8Array(length)
  crypto.getRandomValues(bytes)
  let id = ''
  for (const b of bytes) id += alphabet[b % alphabet.length]
  return id
}

/**
 * WebSocket base URL for the sync server.
 * Order: ?server= (ws:, wss:, http: or https:), then the build-time default (VITE_TANDEM_SERVER,
 * used by `pnpm dev`), then the page's own origin: the server serves the page and the
 * WebSocket on the same host, ws: for http: and wss: for https:.
 */
export function serverUrl(loc: Location | URL, fallback?: string): string {
  const param = new URLSearchParams(loc.search).get('server')
  const chosen = param || fallback
  if (chosen) return toWebSocketUrl(chosen, loc)
  const protocol = loc.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${protocol}//${loc.host}`
}

/** Accepts ws(s)://, http(s):// or a bare host:port and returns a ws(s):// base without a trailing slash. */
export function toWebSocketUrl(value: string, base?: Location | URL): string {
  let v = value.trim()
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    const secure = base?.protocol === 'https:'
    v = `${secure ? 'wss' : 'ws'}://${v}`
  }
  const url = new URL(v)
  if (url.protocol === 'http:') url.protocol = 'ws:'
  else if (url.protocol === 'https:') url.protocol = 'wss:'
  return url.toString().replace(/\/+$/, '')
}

/** Reads ?room=; when absent, creates one and writes it into the address bar (no reload, no history entry). */
export function ensureRoom(win: Window = window): string {
  const url = new URL(win.location.href)
  const existing = url.searchParams.get('room')?.trim()
  if (existing) return existing
  const room = randomRoomId()
  url.searchParams.set('room', room)
  win.history.replaceState(win.history.state, '', url)
  return room
}

/** The link to share: this page with ?room= but without personal parameters (name, token). */
export function shareLink(loc: Location | URL, room: string): string {
  const url = new URL(loc.href)
  url.searchParams.delete('name')
  url.searchParams.delete('token')
  url.searchParams.set('room', room)
  url.hash = ''
  return url.toString()
}

/**
 * The sync server for pages served by Vite's dev server (`pnpm dev`), which is not the sync
 * server: VITE_TANDEM_SERVER, else the server's default address. Undefined in a production
 * build, where the page's own host is the server.
 */
export function devServerUrl(): string | undefined {
  const configured = import.meta.env.VITE_TANDEM_SERVER
  if (configured) return configured
  return import.meta.env.DEV ? 'ws://127.0.0.1:1234' : undefined
}
