import { promisify } from 'node:util'
import { deflateRaw, inflateRaw } from 'node:zlib'

/**
 * Version history in the store (issue 16): whole documents at points in time, kept beside the
 * update log and independent of it, so compaction never touches them.
 *
 * A version holds the document's ENCODED STATE (Y.encodeStateAsUpdate of the room's document, with
 * garbage collection on, compressed with deflate-raw), not a Yjs snapshot: a snapshot is only a
 * state vector and delete set, readable only against a document that still holds every deleted
 * item (gc off for ever on the live document, and no compaction that merges the log), which would
 * make every room grow with everything ever deleted. An encoded state stands alone, survives log
 * compaction and a room being loaded on another server, at the price of a whole (compressed)
 * document per version; retention (history/retention.ts) bounds how many are kept.
 */

export type VersionKind = 'auto' | 'named' | 'before-restore' | 'before-replace'

/** Who changed the document since the previous version. */
export interface VersionAuthor {
  /** the token's `sub`, when the server knows it */
  id?: string
  /** the name shown in presence (awareness `user.name`), when one was seen */
  name?: string
}

/** A version as listed (no document). */
export interface VersionMeta {
  id: number
  room: string
  /** the room's last stored seq when it was taken: its state holds at least every row through it */
  seq: number
  /** ms since the epoch */
  at: number
  name: string | null
  kind: VersionKind
  authors: VersionAuthor[]
  /** bytes of the encoded Yjs state (uncompressed) */
  size: number
}

export interface NewVersion {
  room: string
  seq: number
  at: number
  name: string | null
  kind: VersionKind
  /** the encoded state (uncompressed: the store compresses) */
  state: Uint8Array
}

/** Authors this server saw, each with the highest seq of a row they wrote (where they belong). */
export interface PendingAuthor extends VersionAuthor {
  seq: number
}

export interface TakeOptions {
  /**
   * An automatic version: written only if no version of the room already covers `seq` (its seq
   * is >= it) and, with `minGapMs`, none was taken less than that long before `at`. Checked in the
   * write's transaction under the room's lock, so of several servers trying for the same burst
   * exactly one writes it.
   */
  auto?: { minGapMs?: number }
  /** attributed, in the same transaction, to the oldest version whose seq is >= theirs */
  authors: readonly PendingAuthor[]
}

export interface VersionStore {
  /**
   * Writes `v` (unless `opts.auto`'s condition fails: `version` undefined) and attributes
   * `opts.authors`; `coveredSeq`: the highest seq a version of the room covers afterwards (authors
   * past it are still pending).
   */
  take(v: NewVersion, opts: TakeOptions): Promise<{ version: VersionMeta | undefined; coveredSeq: number }>
  /** Newest first (by id), ids below `beforeId` when given. */
  list(room: string, query: { beforeId?: number; limit: number }): Promise<VersionMeta[]>
  /** One version and its (uncompressed) state. */
  get(room: string, id: number): Promise<{ meta: VersionMeta; state: Uint8Array } | undefined>
  /** Sets or clears a version's name (a named version is kept by retention); undefined if it does not exist. */
  rename(room: string, id: number, name: string | null): Promise<VersionMeta | undefined>
  /** Deletes these versions of the room (retention). */
  remove(room: string, ids: readonly number[]): Promise<void>
  /** Rooms that have versions, ascending, after `after` (retention's sweep pages through them). */
  rooms(after: string | undefined, limit: number): Promise<string[]>
}

/** The authors' JSON as stored: distinct, merged into `into` (an author seen by id or by name once). */
export function mergeAuthors(into: readonly VersionAuthor[], more: readonly VersionAuthor[]): VersionAuthor[] {
  const out = into.map((a) => ({ ...a }))
  for (const a of more) {
    const same = out.find((o) => (a.id !== undefined && o.id === a.id) || (a.id === undefined && o.id === undefined && o.name === a.name))
    if (same) {
      if (a.name !== undefined) same.name = a.name
      continue
    }
    const author: VersionAuthor = {}
    if (a.id !== undefined) author.id = a.id
    if (a.name !== undefined) author.name = a.name
    out.push(author)
  }
  // Bounded: a burst edited by a crowd keeps the first ones (the JSON column stays small).
  return out.slice(0, MAX_AUTHORS)
}

const MAX_AUTHORS = 50

/**
 * Which pending authors go to which version: each to the oldest of `versions` (ascending by seq)
 * whose seq is >= the author's; authors past every version are left out (still pending).
 */
export function attribution(versions: readonly { id: number; seq: number }[], authors: readonly PendingAuthor[]): Map<number, VersionAuthor[]> {
  const byVersion = new Map<number, VersionAuthor[]>()
  for (const a of authors) {
    const v = versions.find((x) => x.seq >= a.seq)
    if (!v) continue
    const list = byVersion.get(v.id) ?? []
    const { seq: _seq, ...author } = a
    list.push(author)
    byVersion.set(v.id, list)
  }
  return byVersion
}

export function parseAuthors(json: string): VersionAuthor[] {
  try {
    const v = JSON.parse(json) as unknown
    return Array.isArray(v) ? (v as VersionAuthor[]) : []
  } catch {
    return []
  }
}

/**
 * The stored form of a state: deflate-raw, on libuv's thread pool (not the event loop: for the
 * 370 KB document of bench scenario D it takes tens of ms on a busy machine; it stores 2.5× smaller,
 * `node bench/src/history-cost.mjs`, docs/history.md).
 */
export const packState = (state: Uint8Array): Promise<Buffer> => deflate(state)
export const unpackState = async (stored: Uint8Array): Promise<Uint8Array> => new Uint8Array(await inflate(stored))

const deflate = promisify(deflateRaw)
const inflate = promisify(inflateRaw)
