import type { AppendEntry, DocStore } from '../store/types.js'
import type { RowEvent } from '../store/outbox.js'
import type { Metrics } from '../metrics.js'
import type { Logger } from '../log.js'
import type { TxOrigin } from '../room/tx-origins.js'
import type { AckTracker } from './acks.js'
import type { UpdateInfo } from './inspect.js'

/**
 * Stage 2 of the update path: the group commit. Updates accepted during one event-loop turn
 * (stage 1, inspect.ts) are committed in ONE store transaction, scheduled with setImmediate,
 * i.e. after every socket read of this poll phase. Per room, in this order:
 *
 *   integrate  into the room's Y.Doc (stage 3, integrate.ts): what cannot integrate is refused
 *   append     one row per room, the merge of what integrated; durable when append resolves
 *   relay      one frame per room to its peers (stage 4, relay.ts), every room before the next step
 *   committed  "saved" acknowledgements (stage 5, acks.ts), the fan-out, compaction
 *
 * At most one append is in flight, so commit order is arrival order, and nothing reaches a peer
 * before the store has it.
 */

/** Who sent an update, as the update path sees it (a connection). */
export interface UpdateSender {
  readonly txOrigin: TxOrigin
  /** "saved" bookkeeping, when the connection negotiated it */
  readonly acks: AckTracker | undefined
  /** who wrote, for the store's change records (webhooks, history): the token's `sub`, undefined when unknown */
  readonly author?: string | undefined
  send(frame: Uint8Array): void
  close(code: number, reason: string): void
}

/** An update accepted on arrival, waiting for its commit. */
export interface Arrival {
  room: CommitRoom
  update: Uint8Array
  info: UpdateInfo
  /** undefined for an update the server itself enqueued (the API, a retry nudge) */
  from: UpdateSender | undefined
  /** the sender's message number for it ("saved" acknowledgements) */
  message: number
  /** the frame it arrived in, when that frame is a sync-update: relayed as-is (encode once) */
  frame: Uint8Array | undefined
  /**
   * OPTIONAL, for an update the server writes itself (the HTTP API): the room's last stored seq it
   * was checked against. The store writes its row only if that still is the room's last seq
   * (`AppendEntry.ifLastSeq`); such an arrival is committed in a row of its own.
   */
  expect?: number
  /**
   * OPTIONAL (the HTTP API): called once the row holding this update is stored and relayed, with
   * its seq; with 0 when the store refused the row because `expect` no longer held (nothing of it
   * is stored, the room's document is rebuilt). A refusal of the update itself reaches
   * `from.close`, as it does for a connection.
   */
  stored?: (seq: number) => void
  /** OPTIONAL (the HTTP API's restore): the event the stored row stands for (`AppendEntry.event`) */
  event?: RowEvent
}

/** The store's row for one room's share: its update, who wrote it (also kept on `c`), and the API's condition. */
function appendEntry(room: CommitRoom, c: RoomCommit): AppendEntry {
  const entry: AppendEntry = { room: room.name, update: c.update }
  let authors: Set<string> | undefined
  for (const a of c.arrivals) {
    if (a.from?.author !== undefined) (authors ??= new Set()).add(a.from.author)
    if (a.event) entry.event = a.event
  }
  if (authors) entry.authors = c.authors = [...authors]
  if (c.expect !== undefined) entry.ifLastSeq = c.expect
  return entry
}

/** One room's share of a commit. */
export interface RoomCommit {
  /** in arrival order; after `integrate`, only the ones the room accepted */
  arrivals: Arrival[]
  /** the row to store (set by `integrate`): what integrated, merged */
  update: Uint8Array
  /** the frame to relay as-is when it holds exactly the stored row, set by `integrate` */
  frame: Uint8Array | undefined
  /** the row also holds parked parts that resolved (anyone's): every peer needs it, the senders too */
  resolved: boolean
  /** the row's seq, once stored */
  seq: number
  /** the one arrival's `expect`: the row is stored only if the room is still at that seq */
  expect?: number
  /** who wrote the row (its senders' `author`s, distinct), set with the store's entry: absent when none is known */
  authors?: string[]
}

/** What the commit needs from a room (room/room.ts). */
export interface CommitRoom {
  readonly name: string
  /** Before the store: integrate the arrivals; returns whether there is a row to store. */
  integrate(c: RoomCommit): boolean
  /** Stored: send it to the room's peers (called for every room of the commit first). */
  relay(c: RoomCommit): void
  /** Stored and relayed: acknowledgements, fan-out, compaction. */
  committed(c: RoomCommit): void
  /** Integrating or storing failed: nothing of these arrivals is stored. */
  failed(arrivals: Arrival[], err: unknown): void
}

/**
 * `onCommitted`: told of each room's row once it is stored, relayed and acknowledged (the
 * library's onChange: library/hooks.ts). It must return at once; a throw is logged, nothing more.
 */
export function createCommitter(store: DocStore, metrics: Metrics, log: Logger, onCommitted?: (room: CommitRoom, c: RoomCommit) => void) {
  let queue: Arrival[] = []
  let scheduled: NodeJS.Immediate | undefined
  let inFlight: Promise<void> | undefined

  const schedule = () => {
    if (scheduled || inFlight) return
    scheduled = setImmediate(run)
  }

  function run() {
    scheduled = undefined
    if (queue.length === 0) return
    const batch = queue
    queue = []
    inFlight = commit(batch).finally(() => {
      inFlight = undefined
      if (queue.length) schedule()
    })
  }

  /** Each room's step, guarded: a throw fails that room alone. */
  function step(room: CommitRoom, c: RoomCommit, what: string, fn: () => void): boolean {
    try {
      fn()
      return true
    } catch (err) {
      log.error({ err, room: room.name }, `${what} failed`)
      room.failed(c.arrivals, err)
      return false
    }
  }

  async function commit(batch: Arrival[]) {
    const started = performance.now()
    const byRoom = new Map<CommitRoom, RoomCommit>()
    let later: Arrival[] | undefined
    for (const a of batch) {
      const c = byRoom.get(a.room)
      if (c && (later !== undefined || a.expect !== undefined || c.expect !== undefined) && deferred(a, c, (later ??= []))) continue
      if (c) c.arrivals.push(a)
      else byRoom.set(a.room, { arrivals: [a], update: a.update, frame: undefined, resolved: false, seq: 0, expect: a.expect })
    }
    // Back in line first, in order: they commit right after this one.
    if (later?.length) queue = [...later, ...queue]
    const rooms = [...byRoom].filter(([room, c]) => {
      let rowToStore = false
      return step(room, c, 'integrating updates', () => void (rowToStore = room.integrate(c))) && rowToStore
    })
    if (rooms.length === 0) return
    let stored = rooms
    try {
      const seqs = await store.append(rooms.map(([room, c]) => appendEntry(room, c)))
      for (let i = 0; i < rooms.length; i++) rooms[i]![1].seq = seqs[i]!
      if (seqs.includes(0)) stored = rooms.filter(([room, c]) => c.seq !== 0 || refuseConditional(room, c))
    } catch (err) {
      log.error({ err, updates: batch.length }, 'store append failed; affected connections will resync')
      for (const [room, c] of rooms) room.failed(c.arrivals, err)
      return
    }
    const committed = stored === rooms ? batch.length - (later?.length ?? 0) : stored.reduce((n, [, c]) => n + c.arrivals.length, 0)
    metrics.storeAppendSeconds.observe((performance.now() - started) / 1000)
    metrics.storeAppendBatch.observe(committed)
    metrics.updatesStored.inc(committed)
    // Relay every room's row before any bookkeeping: the last room of a busy commit must not wait
    // for the acknowledgements, publishing and compaction checks of all the rooms before it.
    const relayed = stored.filter(([room, c]) => step(room, c, 'relaying committed updates', () => room.relay(c)))
    for (const [room, c] of relayed) {
      if (!step(room, c, 'after-commit work', () => room.committed(c))) continue
      for (const a of c.arrivals) a.stored?.(c.seq)
      if (onCommitted) observe(onCommitted, room, c)
    }
  }

  function observe(fn: (room: CommitRoom, c: RoomCommit) => void, room: CommitRoom, c: RoomCommit): void {
    try {
      fn(room, c)
    } catch (err) {
      log.error({ err, room: room.name }, 'commit observer failed')
    }
  }

  /**
   * A conditional arrival commits alone in its room's row: it waits for the next commit when the
   * room already has arrivals in this one, and so does whatever of the room follows it (order).
   */
  function deferred(a: Arrival, c: RoomCommit, later: Arrival[]): boolean {
    if (a.expect === undefined && c.expect === undefined && !later.some((l) => l.room === a.room)) return false
    later.push(a)
    return true
  }

  /** The store did not write a conditional row (the room moved on): nothing of it is stored. */
  function refuseConditional(room: CommitRoom, c: RoomCommit): false {
    log.info({ room: room.name, expected: c.expect }, 'conditional write refused: the room changed since it was checked')
    for (const a of c.arrivals) a.stored?.(0)
    // The document holds what the store refused: it is rebuilt from the store, like after a failed append.
    room.failed(c.arrivals, new Error('conditional write refused'))
    return false
  }

  return {
    /** Stage 1 hands an accepted update over. */
    enqueue(arrival: Arrival): void {
      queue.push(arrival)
      schedule()
    },
    /** Arrivals a room set aside while it was rebuilding, back in line ahead of newer ones. */
    requeue(arrivals: Arrival[]): void {
      queue = [...arrivals, ...queue]
      schedule()
    },
    /** Resolves when everything enqueued before the call is committed (or failed). */
    async flushed(): Promise<void> {
      while (queue.length || inFlight || scheduled) {
        if (scheduled) {
          clearImmediate(scheduled)
          run()
        } else if (!inFlight && queue.length) {
          run()
        }
        await inFlight
      }
    },
  }
}

export type Committer = ReturnType<typeof createCommitter>
