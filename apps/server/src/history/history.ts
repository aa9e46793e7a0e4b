import type { Logger } from '../log.js'
import type { DocStore } from '../store/types.js'
import type { PendingAuthor, VersionKind, VersionMeta, VersionStore } from '../store/versions.js'
import { toThin, type RetentionPolicy } from './retention.js'

/**
 * Version history on one server (issue 16; store/versions.ts says what a version holds):
 *
 * - AUTOMATIC versions. Each room this server stored a row for, or heard another server store
 *   one for (fan-out), is tracked with the time of its last change and who made it. One timer
 *   for all rooms checks them: a room quiet for `quietMs` gets a version (the end of a burst), a
 *   room busy for `maxIntervalMs` since its burst began gets one too. The store writes it only if
 *   no version covers the room's last seq yet (and, while busy, none is younger than
 *   `maxIntervalMs`), under the room's lock: servers sharing PostgreSQL, which all track the room,
 *   make one version per burst between them, and each attributes its own authors to it.
 * - ON REQUEST (the API): named versions, and one before every restore and every PUT that replaces
 *   the content.
 * - RETENTION (retention.ts): after each version its room is thinned, and a sweep thins every
 *   room with versions every `pruneEveryMs` (a room nobody edits any more ages too).
 *
 * Authors a server saw but had not yet attributed when it stops are not recorded (documented).
 */

/** What history needs from a room (room/room.ts). */
export interface VersionSource {
  readonly name: string
  /** the whole state, only what is stored */
  encodeState(): Promise<Uint8Array>
  /** rows other servers stored that this room has not seen yet */
  catchUpFromStore(): Promise<void>
}

/** Someone whose change a commit stored. */
export interface Writer {
  /** token `sub` */
  id: string | undefined
  /** the connection, when there is no `sub` (tells two anonymous writers apart) */
  connection: number
  /** the name they show in presence: asked once per burst and writer */
  name: () => string | undefined
}

export interface HistoryOptions {
  versions: VersionStore
  store: DocStore
  log: Logger
  /** several servers share the store: catch up before reading a room's state */
  shared: boolean
  quietMs: number
  maxIntervalMs: number
  retention: RetentionPolicy
  /** a room from its name, held until `release` (the registry) */
  acquire: (room: string) => Promise<VersionSource>
  release: (room: VersionSource) => void
  /** injectable clock (tests) */
  now?: () => number
  /** how often the sweep thins all rooms; default hourly */
  pruneEveryMs?: number
}

interface Burst {
  firstAt: number
  lastAt: number
  authors: Map<string, PendingAuthor>
  /** a version of it is being taken */
  taking: boolean
}

const MAX_AUTHORS_PER_BURST = 50
const SWEEP_PAGE = 100

export function createHistory(opts: HistoryOptions) {
  const now = opts.now ?? Date.now
  const bursts = new Map<string, Burst>()
  const auto = opts.quietMs > 0
  // Often enough that a version comes within a quarter of the quiet time after it is due.
  const tickMs = Math.min(10_000, Math.max(20, Math.floor(Math.min(opts.quietMs, opts.maxIntervalMs) / 4)))
  /** the background work under way (close waits for it) */
  const running = new Set<Promise<unknown>>()
  const track = (p: Promise<unknown>) => {
    running.add(p)
    void p.finally(() => running.delete(p))
  }
  const timer = auto ? setInterval(() => track(tick()), tickMs) : undefined
  timer?.unref()
  const pruneEveryMs = opts.pruneEveryMs ?? 3_600_000
  const sweepTimer = setInterval(() => track(sweep().catch((err) => opts.log.error({ err }, 'history: retention sweep failed'))), pruneEveryMs)
  sweepTimer.unref()
  let closed = false

  function burstOf(room: string): Burst {
    let b = bursts.get(room)
    const t = now()
    if (!b) bursts.set(room, (b = { firstAt: t, lastAt: t, authors: new Map(), taking: false }))
    b.lastAt = t
    return b
  }

  /** The state of `room` with the seq it covers: the seq first, then the state (which then holds every row through it). */
  async function capture(room: VersionSource): Promise<{ seq: number; state: Uint8Array }> {
    const seq = await opts.store.lastSeq(room.name)
    if (opts.shared) await room.catchUpFromStore()
    return { seq, state: await room.encodeState() }
  }

  async function write(room: VersionSource, kind: VersionKind, name: string | null, minGapMs?: number): Promise<VersionMeta | undefined> {
    const { seq, state } = await capture(room)
    const b = bursts.get(room.name)
    const authors = b ? [...b.authors.values()] : []
    const res = await opts.versions.take(
      { room: room.name, seq, at: now(), name, kind, state },
      { authors, ...(kind === 'auto' ? { auto: minGapMs === undefined ? {} : { minGapMs } } : {}) },
    )
    // What the store attributed is done; authors of rows after every version wait for the next.
    if (b) for (const [key, a] of b.authors) if (a.seq <= res.coveredSeq) b.authors.delete(key)
    if (res.version) await thin(room.name)
    return res.version
  }

  async function thin(room: string): Promise<void> {
    const all: VersionMeta[] = []
    for (let before: number | undefined; ; ) {
      const page = await opts.versions.list(room, { beforeId: before, limit: 1000 })
      all.push(...page)
      if (page.length < 1000) break
      before = page[page.length - 1]!.id
    }
    await opts.versions.remove(room, toThin(all, now(), opts.retention))
  }

  async function sweep(): Promise<void> {
    for (let after: string | undefined; !closed; ) {
      const rooms = await opts.versions.rooms(after, SWEEP_PAGE)
      for (const room of rooms) await thin(room)
      if (rooms.length < SWEEP_PAGE) return
      after = rooms[rooms.length - 1]
    }
  }

  async function tick(): Promise<void> {
    const t = now()
    for (const [name, b] of bursts) {
      if (b.taking || closed) continue
      const quiet = t - b.lastAt >= opts.quietMs
      const busy = t - b.firstAt >= opts.maxIntervalMs
      if (!quiet && !busy) continue
      b.taking = true
      try {
        const room = await opts.acquire(name)
        try {
          await write(room, 'auto', null, quiet ? undefined : opts.maxIntervalMs)
        } finally {
          opts.release(room)
        }
        if (quiet && b.lastAt <= t && b.authors.size === 0) bursts.delete(name)
        else b.firstAt = now()
      } catch (err) {
        // Tried again at the next tick.
        opts.log.error({ err, room: name }, 'history: automatic version failed')
      } finally {
        b.taking = false
      }
    }
  }

  return {
    /** the clock versions are stamped with */
    now,
    retention: opts.retention,
    /** automatic versions come this long after a burst of edits ends (undefined: none) */
    quietMs: auto ? opts.quietMs : undefined,
    /** A commit stored `seq` for `room` with these writers' changes (room/room.ts). */
    edited(room: string, seq: number, writers: readonly Writer[]): void {
      if (closed) return
      const b = burstOf(room)
      for (const w of writers) {
        const key = w.id !== undefined ? `sub:${w.id}` : `conn:${w.connection}`
        const known = b.authors.get(key)
        if (known) {
          known.seq = seq
          continue
        }
        if (b.authors.size >= MAX_AUTHORS_PER_BURST) continue
        const author: PendingAuthor = { seq }
        if (w.id !== undefined) author.id = w.id
        const name = w.name()
        if (name !== undefined) author.name = name
        if (author.id === undefined && author.name === undefined) continue
        b.authors.set(key, author)
      }
    },
    /** Another server stored a row for `room` (fan-out): the burst goes on. */
    touched(room: string): void {
      if (!closed) burstOf(room)
    },
    /** A version of `room` now (the API); held by the caller. */
    take(room: VersionSource, kind: Exclude<VersionKind, 'auto'>, name: string | null = null): Promise<VersionMeta> {
      return write(room, kind, name).then((v) => v!)
    },
    /** The automatic check, now (tests with a fake clock). */
    tick,
    /** Retention over every room, now. */
    sweep,
    /** Stops the timers and waits for a version being taken. */
    async close(): Promise<void> {
      closed = true
      if (timer) clearInterval(timer)
      clearInterval(sweepTimer)
      await Promise.allSettled([...running])
      bursts.clear()
    },
  }
}

export type History = ReturnType<typeof createHistory>
