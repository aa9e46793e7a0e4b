/**
 * The editor page's service worker: keeps the page itself (its HTML and the hashed files under
 * assets/) so that a room opened once opens again without a network. The document then comes
 * from the browser's IndexedDB copy (mountEditor's `offline` option) and the connection badge
 * says Offline; edits are sent when the server is reachable again.
 *
 * - Pages (navigations): network first, so a new deploy is picked up at once; the cached copy
 *   only when the network fails. One entry per path: ?room= and ?name= do not matter.
 * - assets/: cache first. Their names carry a content hash, so a cached file is never stale;
 *   files no cached page refers to any more are deleted when a page is cached.
 * - Everything else (the API under api/, other origins, non-GET) is not touched.
 *
 * Plain JavaScript in public/: Vite copies it to dist/ as sw.js unhashed, the one name the
 * browser checks for updates.
 */
const CACHE = 'tandem-page-v1'
const scope = new URL(self.registration.scope)
const assetsPrefix = new URL('assets/', scope).pathname
/** The server's HTTP API: never a page, never kept (its answers are live data). */
const apiPrefix = new URL('api/', scope).pathname

/** The cache key of a page: its path, without the query. */
const pageKey = (url) => new URL(url.pathname, url.origin).href

/** Same-origin files under assets/ that an HTML page refers to (script, modulepreload, stylesheet). */
function assetsOf(html, pageUrl) {
  const found = new Set()
  for (const m of html.matchAll(/\s(?:src|href)="([^"]+)"/g)) {
    const url = new URL(m[1], pageUrl)
    if (url.origin === scope.origin && url.pathname.startsWith(assetsPrefix)) found.add(url.href)
  }
  return found
}

/** Stores a page and every asset it needs, then forgets assets that no stored page needs. */
async function keepPage(url, response) {
  const html = await response.clone().text()
  const cache = await caches.open(CACHE)
  const wanted = assetsOf(html, url)
  // Assets first: a stored page whose files are missing would open blank offline.
  for (const asset of wanted) {
    if (await cache.match(asset)) continue
    const res = await fetch(asset)
    if (!res.ok) return
    await cache.put(asset, res)
  }
  await cache.put(pageKey(url), response)
  const needed = new Set()
  for (const key of await cache.keys()) {
    const keyUrl = new URL(key.url)
    if (keyUrl.pathname.startsWith(assetsPrefix)) continue
    const page = await cache.match(key)
    if (page) for (const asset of assetsOf(await page.text(), keyUrl)) needed.add(asset)
  }
  for (const key of await cache.keys()) {
    if (new URL(key.url).pathname.startsWith(assetsPrefix) && !needed.has(key.url)) await cache.delete(key)
  }
}

// One keepPage at a time: two running side by side (two tabs across a deploy) could each
// prune the assets the other has just stored for its page.
let keeping = Promise.resolve()
const keep = (url, response) => (keeping = keeping.then(() => keepPage(url, response)).catch(() => undefined))

const isHtml = (response) => response.ok && (response.headers.get('content-type') ?? '').startsWith('text/html')

self.addEventListener('install', (event) => {
  // The page that registered us was loaded before we existed, so nothing of it went through
  // fetch below: store the start page now, or the first offline visit would find nothing.
  event.waitUntil(
    (async () => {
      const response = await fetch(scope.href, { cache: 'no-cache' })
      if (isHtml(response)) await keep(scope, response)
      await self.skipWaiting()
    })(),
  )
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name)
      await self.clients.claim()
    })(),
  )
})

self.addEventListener('fetch', (event) => {
  const request = event.request
  if (request.method !== 'GET') return
  const url = new URL(request.url)
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname) || url.pathname.startsWith(apiPrefix)) return

  if (request.mode === 'navigate') {
    event.respondWith(
      (async () => {
        try {
          const response = await fetch(request)
          if (isHtml(response)) event.waitUntil(keep(url, response.clone()))
          return response
        } catch (err) {
          // No network: the stored page, or the start page for a path we never stored (the
          // server answers every extension-less path with the start page too).
          const cache = await caches.open(CACHE)
          const stored = (await cache.match(pageKey(url))) ?? (await cache.match(pageKey(scope)))
          if (stored) return stored
          throw err
        }
      })(),
    )
    return
  }

  if (url.pathname.startsWith(assetsPrefix)) {
    event.respondWith(
      (async () => {
        const cache = await caches.open(CACHE)
        const stored = await cache.match(request)
        if (stored) return stored
        const response = await fetch(request)
        if (response.ok) event.waitUntil(cache.put(request, response.clone()))
        return response
      })(),
    )
  }
})
