import type { JSONContent } from '@tiptap/core'

/** The server's versions API (README "API") as the History panel uses it. */

export interface VersionAuthor {
  id?: string
  name?: string
}

export interface Version {
  id: number
  time: string
  name: string | null
  kind: 'auto' | 'named' | 'before-restore' | 'before-replace'
  authors: VersionAuthor[]
  size: number
  /** `authors` are exactly who changed the document since the version listed after this one */
  authorsExact: boolean
}

export interface VersionPage {
  versions: Version[]
  /** cursor of the next (older) page */
  next: string | null
  /** automatic versions come this long after edits pause (null: none) */
  autoAfterMs: number | null
}

export type TokenSource = string | (() => string | Promise<string>) | undefined

/** `ws(s)://host[/prefix]` → `http(s)://host[/prefix]/api/rooms/<room>`. */
export function roomApiUrl(url: string | string[], room: string): string {
  const first = Array.isArray(url) ? url[0]! : url
  const base = first.replace(/^ws(s?):\/\//i, 'http$1://').replace(/\/+$/, '')
  return `${base}/api/rooms/${encodeURIComponent(room)}`
}

export function createVersionsClient(base: string, token: TokenSource) {
  async function call(path: string, init: RequestInit = {}): Promise<Response> {
    const t = typeof token === 'function' ? await token() : token
    const headers = new Headers(init.headers)
    if (t) headers.set('Authorization', `Bearer ${t}`)
    const res = await fetch(base + path, { ...init, headers })
    if (!res.ok && res.status !== 304) {
      let message = `${res.status}`
      try {
        message = ((await res.json()) as { message?: string }).message ?? message
      } catch {
        // not JSON: the status says it
      }
      throw new Error(message)
    }
    return res
  }
  const json = { 'Content-Type': 'application/json' }
  return {
    /**
     * A page of versions, newest first; undefined when it is the page whose ETag is `etag` (304:
     * nothing changed). The ETag is handled here, not by the browser's cache (`no-store`), so a
     * 304 is seen as one and the panel skips re-rendering.
     */
    list: async (q: { limit: number; cursor?: string | null; etag?: string }): Promise<{ page: VersionPage; etag: string | null } | undefined> => {
      const params = new URLSearchParams({ limit: String(q.limit) })
      if (q.cursor) params.set('cursor', q.cursor)
      const res = await call(`/versions?${params}`, { cache: 'no-store', headers: q.etag ? { 'If-None-Match': q.etag } : {} })
      if (res.status === 304) return undefined
      return { page: (await res.json()) as VersionPage, etag: res.headers.get('ETag') }
    },
    content: async (id: number): Promise<JSONContent> => (await (await call(`/versions/${id}/content?format=json`)).json()) as JSONContent,
    restore: async (id: number): Promise<void> => void (await call(`/versions/${id}/restore`, { method: 'POST' })),
    name: async (id: number, name: string): Promise<Version> =>
      (await (await call(`/versions/${id}`, { method: 'PATCH', headers: json, body: JSON.stringify({ name }) })).json()) as Version,
    nameCurrent: async (name: string): Promise<Version> =>
      (await (await call('/versions', { method: 'POST', headers: json, body: JSON.stringify({ name }) })).json()) as Version,
  }
}

