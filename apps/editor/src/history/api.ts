import type { JSONContent } from '@tiptap/core'

/** The server's versions API (README "API") as the History panel uses it. */

interface VersionAuthor {
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
    if (!res.ok) {
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
    list: async (): Promise<Version[]> => ((await (await call('/versions?limit=100')).json()) as { versions: Version[] }).versions,
    content: async (id: number): Promise<JSONContent> => (await (await call(`/versions/${id}/content?format=json`)).json()) as JSONContent,
    restore: async (id: number): Promise<void> => void (await call(`/versions/${id}/restore`, { method: 'POST' })),
    name: async (id: number, name: string): Promise<Version> =>
      (await (await call(`/versions/${id}`, { method: 'PATCH', headers: json, body: JSON.stringify({ name }) })).json()) as Version,
    nameCurrent: async (name: string): Promise<Version> =>
      (await (await call('/versions', { method: 'POST', headers: json, body: JSON.stringify({ name }) })).json()) as Version,
  }
}

