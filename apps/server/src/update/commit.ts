import type { DocStore } from '../store/types.js'
import type { Metrics } from '../metrics.js'
import type { Logger } from '../log.js'
import type { UpdateInfo } from './integrate.js'

/** An accepted (validated) update waiting for its group commit. */
export interface PendingUpdate<R, C> {
  room: R
  update: Uint8Array
  /** the connection it came from, so it is not echoed back (undefined for API writes) */
  origin: C | undefined
  /** the frame it arrived in when that frame is a sync-update: relayed as-is (encode once) */
  frame: Uint8Array | undefined
  /** the sender's message number for this update ("saved" acknowledgements) */
  ack: number
  /** what the arrival check counted (budgets, nesting) */
  info: UpdateInfo
}

/** One room's share of a commit: its updates in arrival order, stored as ONE row. */
export interface CommittedRoom<R, C> {
  /** in arrival order; after `integrate`, only the entries the room accepted */
  entries: PendingUpdate<R, C>[]
  /** the stored row (set by `integrate`): what integrated, merged */
  update: Uint8Array
  /** the frame to relay as-is when it holds exactly the stored row (encode once), set by `integrate` */
  frame: Uint8Array | undefined
  seq: number
}

export interface CommitTarget<R, C> {
  /**
   * Integrates a room's entries into its document BEFORE anything is stored (update-gate.ts):
   * refuses what cannot integrate (closing its sender), sets `update` and `frame`, and returns
   * whether there is anything to store.
   */
  integrate(room: R, committed: CommittedRoom<R, C>): boolean
  /** called once per room per commit, for every room of the commit before any `applyCommitted` */
  relayCommitted(room: R, committed: CommittedRoom<R, C>): void
  /** then once per room per commit: the work that can wait until every room's peers have the update */
  applyCommitted(room: R, committed: CommittedRoom<R, C>): void
  /** the commit failed: nothing was stored, nothing may be relayed */
  commitFailed(room: R, entries: PendingUpdate<R, C>[], err: unknown): void
}

/**
 * Group commit. Updates accepted during one event-loop turn are committed in ONE store
 * transaction (scheduled with setImmediate, i.e. after every socket read of this poll phase),
 * and only then applied and relayed. At most one append is in flight, so commit order is
 * arrival order, and the durability invariant holds: stored before any peer receives it.
 *
 * A room's updates of one commit are merged first and stored as one row: the same bytes the
 * room then relays in one frame, so the store does one insert per room per turn, not per update.
 */
export function createCommitter<R extends { name: string }, C>(
  store: DocStore,
  target: CommitTarget<R, C>,
  metrics: Metrics,
  log: Logger,
) {
  let queue: PendingUpdate<R, C>[] = []
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

  async function commit(batch: PendingUpdate<R, C>[]) {
    const started = performance.now()
    const byRoom = new Map<R, CommittedRoom<R, C>>()
    for (const e of batch) {
      const c = byRoom.get(e.room)
      if (c) c.entries.push(e)
      else byRoom.set(e.room, { entries: [e], update: e.update, frame: undefined, seq: 0 })
    }
    // Integrate first: only what a room's document took is stored (nothing stored can brick it).
    const rooms = [...byRoom].filter(([room, c]) => {
      try {
        return target.integrate(room, c)
      } catch (err) {
        log.error({ err, room: room.name }, 'integrating updates failed')
        target.commitFailed(room, c.entries, err)
        return false
      }
    })
    if (rooms.length === 0) return
    try {
      const seqs = await store.append(rooms.map(([room, c]) => ({ room: room.name, update: c.update })))
      for (let i = 0; i < rooms.length; i++) rooms[i]![1].seq = seqs[i]!
    } catch (err) {
      log.error({ err, updates: batch.length }, 'store append failed; affected connections will resync')
      for (const [room, c] of rooms) target.commitFailed(room, c.entries, err)
      return
    }
    metrics.storeAppendSeconds.observe((performance.now() - started) / 1000)
    metrics.storeAppendBatch.observe(batch.length)
    metrics.updatesStored.inc(batch.length)
    // Relay every room's update before integrating any: the last room of a busy commit must not
    // wait for the Yjs work of all the rooms before it.
    const relayed = rooms.filter(([room, c]) => {
      try {
        target.relayCommitted(room, c)
        return true
      } catch (err) {
        log.error({ err, room: room.name }, 'relaying committed updates failed')
        target.commitFailed(room, c.entries, err)
        return false
      }
    })
    for (const [room, c] of relayed) {
      try {
        target.applyCommitted(room, c)
      } catch (err) {
        // Stored but not applied in memory: the room is inconsistent with its store until reloaded.
        log.error({ err, room: room.name }, 'applying committed updates failed')
        target.commitFailed(room, c.entries, err)
      }
    }
  }

  return {
    enqueue(room: R, update: Uint8Array, origin: C | undefined, frame: Uint8Array | undefined, ack: number, info: UpdateInfo) {
      queue.push({ room, update, origin, frame, ack, info })
      schedule()
    },
    /** Entries a room set aside while it was rebuilding, back in line (ahead of newer ones). */
    requeue(entries: PendingUpdate<R, C>[]) {
      queue = [...entries, ...queue]
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
    pending: () => queue.length,
  }
}

export type Committer<R extends { name: string }, C> = ReturnType<typeof createCommitter<R, C>>
