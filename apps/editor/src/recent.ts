/**
 * "Recent documents": the rooms this browser opened, newest first, with their titles, kept in
 * localStorage (nothing leaves the browser). Tokens are never kept: a link needing one asks
 * for it again.
 */
const KEY = 'tandem:recent'
const MAX_ENTRIES = 20

export interface RecentDocument {
  room: string
  /** ?server= the page was opened with, if any */
  server?: string
  /** first heading, '' for none */
  title: string
  /** last opened or retitled, ms since epoch */
  at: number
}

const isEntry = (v: unknown): v is RecentDocument => {
  const e = v as RecentDocument
  return typeof e === 'object' && e !== null && typeof e.room === 'string' && typeof e.title === 'string' && typeof e.at === 'number' && (e.server === undefined || typeof e.server === 'string')
}

export function readRecent(storage: Storage = localStorage): RecentDocument[] {
  try {
    const parsed: unknown = JSON.parse(storage.getItem(KEY) ?? '[]')
    return Array.isArray(parsed) ? parsed.filter(isEntry).slice(0, MAX_ENTRIES) : []
  } catch {
    return []
  }
}

/** Puts (room, server) first with this title; keeps the list to MAX_ENTRIES. */
export function rememberRecent(entry: RecentDocument, storage: Storage = localStorage): RecentDocument[] {
  const list = [entry, ...readRecent(storage).filter((e) => e.room !== entry.room || e.server !== entry.server)].slice(0, MAX_ENTRIES)
  try {
    storage.setItem(KEY, JSON.stringify(list))
  } catch {
    // Storage full or refused (private mode): the list is a convenience.
  }
  return list
}

/** The link that opens an entry: this page with its room (and server). */
export function recentHref(entry: RecentDocument, base: string): string {
  const url = new URL(base)
  url.search = new URLSearchParams({ room: entry.room, ...(entry.server ? { server: entry.server } : {}) }).toString()
  url.hash = ''
  return url.toString()
}
