import Database from 'better-sqlite3'
import { join } from 'node:path'
import type { AppendEntry, DocStore, LoadedDoc, StoredRow } from './types.js'
import { prepareRoomQueries } from './sqlite-rooms.js'
import { startCheckpointer, type Checkpointer } from './sqlite-checkpointer.js'
import { highestSeq, openSchema } from './sqlite-schema.js'
import { createSqliteOutbox } from './sqlite-outbox.js'
import type { OutboxOptions, WebhookOutbox } from './outbox.js'
import { createSqliteVersions } from './sqlite-versions.js'
import { createSqliteUploads } from './sqlite-uploads.js'
import { createWriteHealth } from '../health/write-health.js'
import { StoreReason, describeError, type ComponentHealth } from '../health/model.js'

/**
 * The serving connection's own checkpoint threshold, in WAL pages, while the worker runs. Each
 * WAL cycle costs the serving thread three fsyncs (the tail checkpoint syncs the WAL and the
 * database, and the next commit syncs the restarted WAL's header), 1-70 ms each depending on the
 * disk, and every update arriving meanwhile waits for them (stored before relayed). 16000 pages
 * (64 MiB, the journal_size_limit below) makes that one stall per ~5,000 commits, not per ~1,250.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 16_000

/**
 * The probe write while writes are failing (see health/write-health.ts): the one row of the
 * health_probe table rewritten, committed (a rolled-back write never leaves the page cache, so it
 * cannot meet a full disk), the size of the write that failed plus room for its b-tree pages, up
 * to a bound. Smaller, it could fit where that write did not (the last pages of a WAL file that
 * cannot grow) and report the store healthy while the client's retry fails again.
 */
const PROBE_MIN_BYTES = 16 * 1024
const PROBE_MAX_BYTES = 4 * 1024 * 1024

export interface SqliteStore extends DocStore {
  /** the checkpoint worker (see sqlite-checkpointer.ts); undefined when turned off (checkpointIntervalMs 0) */
  readonly checkpointer: Checkpointer | undefined
  /** the webhook outbox, when the store was opened with `webhooks` */
  readonly outbox: WebhookOutbox | undefined
  health(): Promise<ComponentHealth>
}

/**
 * Embedded default store: one SQLite file in WAL mode under DATA_DIR.
 * better-sqlite3 is synchronous, so `append` has committed when it returns; the promise
 * wrapper only keeps the DocStore interface uniform with PostgreSQL.
 */
export function createSqliteStore(opts: {
  dataDir: string
  synchronous: 'NORMAL' | 'FULL'
  file?: string
  /** how often the worker thread checkpoints the WAL; 0 leaves it to SQLite, inside COMMIT */
  checkpointIntervalMs?: number
  /** the worker's checkpoints started failing (SQLite checkpoints inside COMMIT meanwhile) */
  onCheckpointFailure?: (err: Error) => void
  /** ... and succeed again: the worker has the bulk of the copying back */
  onCheckpointRecovery?: () => void
  /** writes started failing (an Error: disk full, I/O error) or succeed again (undefined) */
  onWriteHealth?: (failure: Error | undefined) => void
  /** WEBHOOK_URL is set: every append and deleteRoom also writes the webhook outbox (store/outbox.ts) */
  webhooks?: OutboxOptions
}): SqliteStore {
  const file = join(opts.dataDir, opts.file ?? 'tandem.sqlite')
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  // NORMAL in WAL mode: a commit survives the process being killed (the WAL is in the OS page
  // cache); FULL additionally fsyncs each commit so it survives power loss.
  db.pragma(`synchronous = ${opts.synchronous}`)
  db.pragma('busy_timeout = 5000')
  // After a burst, the WAL file is cut back to this size when it restarts (it is reused, not shrunk, otherwise).
  db.pragma('journal_size_limit = 67108864')
  // Seqs are assigned here, in commit order (sqlite-schema.ts says why that is safe). Another
  // connection writing to the same file (a second store instance, a tool) is noticed through
  // data_version, which changes only when another connection commits; the counter is then
  // re-read inside the write transaction that takes the next seqs.
  let lastSeq = openSchema(db)
  const dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck()
  let seenVersion = dataVersion.get()

  const insert = db.prepare<[string, number, Uint8Array, number]>('INSERT INTO updates (room, seq, data, at) VALUES (?, ?, ?, ?)')
  const rooms = prepareRoomQueries(db)
  const changes = opts.webhooks && createSqliteOutbox(db, opts.webhooks)
  const selectSnapshot = db.prepare<[string], { seq: number; data: Buffer }>('SELECT seq, data FROM snapshots WHERE room = ?')
  const selectUpdates = db.prepare<[string, number], { seq: number; data: Buffer }>(
    'SELECT seq, data FROM updates WHERE room = ? AND seq > ? ORDER BY seq',
  )
  const upsertSnapshot = db.prepare<[string, number, Uint8Array]>(
    'INSERT INTO snapshots (room, seq, data) VALUES (?, ?, ?) ON CONFLICT (room) DO UPDATE SET seq = excluded.seq, data = excluded.data',
  )
  const deleteThrough = db.prepare<[string, number]>('DELETE FROM updates WHERE room = ? AND seq <= ?')
  const selectRow = db.prepare<[string, number], { data: Buffer }>('SELECT data FROM updates WHERE room = ? AND seq = ?')
  const selectSnapshotAt = db.prepare<[string, number], { data: Buffer }>('SELECT data FROM snapshots WHERE room = ? AND seq = ?')
  const insertQuarantine = db.prepare<[string, number, Uint8Array, string]>(
    'INSERT INTO quarantine (room, seq, data, reason) VALUES (?, ?, ?, ?)',
  )
  const deleteRow = db.prepare<[string, number]>('DELETE FROM updates WHERE room = ? AND seq = ?')
  const deleteSnapshotAt = db.prepare<[string, number]>('DELETE FROM snapshots WHERE room = ? AND seq = ?')
  const probeWrite = db.prepare<[number, number]>(
    'INSERT INTO health_probe (id, at, pad) VALUES (1, ?, zeroblob(?)) ON CONFLICT (id) DO UPDATE SET at = excluded.at, pad = excluded.pad',
  )
  let probeBytes = PROBE_MIN_BYTES
  const writes = createWriteHealth({
    probe: async () => {
      probeWrite.run(Date.now(), probeBytes)
      // It worked: give the space back to the next writes (the pages go to the free list).
      probeWrite.run(Date.now(), 0)
    },
    probeTimeoutMs: 5_000,
    onChange: opts.onWriteHealth,
  })
  /**
   * Every write goes through here: its outcome is what /healthz reports (a read proves nothing
   * about a full disk). `bytes`: about what it writes, the size of the probe if it fails.
   */
  const written = <T>(bytes: number, write: () => T): T => {
    try {
      const result = write()
      writes.succeeded()
      return result
    } catch (err) {
      probeBytes = Math.min(bytes + PROBE_MIN_BYTES, PROBE_MAX_BYTES)
      writes.failed(err)
      throw err
    }
  }

  const appendTx = db.transaction((entries: readonly AppendEntry[]) => {
    // Under the write lock nobody else can commit until we do, and our own commit does not
    // change data_version: what is read here stays true until the next append.
    const version = dataVersion.get()
    if (version !== seenVersion) lastSeq = Math.max(lastSeq, highestSeq(db))
    seenVersion = version
    let next = lastSeq
    const at = Date.now()
    const seqs = entries.map((e) => {
      // A conditional entry (AppendEntry.ifLastSeq): checked under the write lock, like the counter.
      if (e.ifLastSeq !== undefined && rooms.lastSeq(e.room) !== e.ifLastSeq) return 0
      insert.run(e.room, ++next, asBuffer(e.update), at)
      return next
    })
    if (changes) changes.appended(entries, seqs, at)
    return { seqs, next }
  })
  /** BEGIN IMMEDIATE: the write lock before the counter is read; the seqs count as taken only once committed. */
  const append = (entries: readonly AppendEntry[]): number[] => {
    const { seqs, next } = appendTx.immediate(entries)
    lastSeq = next
    return seqs
  }
  const compactTx = db.transaction((room: string, snapshot: Uint8Array, throughSeq: number) => {
    upsertSnapshot.run(room, throughSeq, asBuffer(snapshot))
    rooms.foldTimes(room, throughSeq)
    deleteThrough.run(room, throughSeq)
  })
  const quarantineTx = db.transaction((room: string, seqs: readonly number[], reason: string) => {
    for (const seq of seqs) {
      const row = selectRow.get(room, seq)
      if (row) {
        insertQuarantine.run(room, seq, row.data, reason)
        deleteRow.run(room, seq)
        continue
      }
      const snap = selectSnapshotAt.get(room, seq)
      if (snap) {
        insertQuarantine.run(room, seq, snap.data, reason)
        deleteSnapshotAt.run(room, seq)
      }
    }
  })
  const deleteTx = db.transaction((room: string) => {
    if (changes) changes.deleting(room, Date.now())
    rooms.delete(room)
  })
  const loadTx = db.transaction((room: string): LoadedDoc => {
    const snap = selectSnapshot.get(room)
    const snapshot: StoredRow | null = snap ? { seq: snap.seq, data: snap.data } : null
    const updates: StoredRow[] = selectUpdates.all(room, snapshot?.seq ?? 0).map((r) => ({ seq: r.seq, data: r.data }))
    return { snapshot, updates }
  })

  let closed = false
  let checkpointer: Checkpointer | undefined
  const intervalMs = opts.checkpointIntervalMs ?? 100
  if (intervalMs > 0) {
    // Not 0: under sustained writes a concurrent checkpointer never catches up with the last
    // frames, so the WAL never restarts (measured: 2 GB in 8 s). SQLite's own checkpoint, at a
    // threshold 4× its default, finishes the few frames the worker has not yet copied, and the
    // next commit restarts the WAL; the worker does the bulk of the copying between them.
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`)
    checkpointer = startCheckpointer({
      file,
      intervalMs,
      onFailure: (err) => {
        // Back to SQLite's own checkpoints (inside COMMIT) until the worker's succeed again:
        // slower tails, but the WAL stays bounded.
        if (!closed) db.pragma('wal_autocheckpoint = 1000')
        opts.onCheckpointFailure?.(err)
      },
      onRecovery: () => {
        if (!closed) db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`)
        opts.onCheckpointRecovery?.()
      },
    })
  }

  return {
    kind: 'sqlite',
    get checkpointer() {
      return checkpointer
    },
    outbox: changes ? changes.outbox : undefined,
    load: async (room) => loadTx(room),
    append: async (entries) => written(bytesOf(entries), () => append(entries)),
    lastSeq: async (room) => rooms.lastSeq(room),
    listRooms: async (query) => rooms.list(query),
    deleteRoom: async (room) => deleteTx.immediate(room),
    versions: createSqliteVersions(db, written),
    uploads: createSqliteUploads(db, written),
    compact: async (room, snapshot, throughSeq) => {
      written(snapshot.byteLength, () => compactTx(room, snapshot, throughSeq))
    },
    quarantine: async (room, seqs, reason) => {
      written(0, () => quarantineTx(room, seqs, reason))
    },
    health: async () => {
      try {
        db.prepare('SELECT 1').get()
      } catch (err) {
        return { ok: false, reason: StoreReason.Unreachable, detail: describeError(err) }
      }
      const w = await writes.check()
      if (!w.ok) return w
      // Not an outage (commits still succeed), but worth seeing next to the store's state.
      const failure = checkpointer?.failure
      return failure ? { ok: true, detail: `WAL checkpoint worker failing (${describeError(failure)}); SQLite checkpoints inside commits until it recovers` } : { ok: true }
    },
    close: async () => {
      if (closed) return
      closed = true
      // The worker's connection first: the last connection to close checkpoints and removes the WAL.
      await checkpointer?.stop()
      db.close()
    },
  }
}

const bytesOf = (entries: readonly AppendEntry[]) => entries.reduce((n, e) => n + e.update.byteLength, 0)

/** better-sqlite3 binds Buffers as BLOBs; wrap a Uint8Array view without copying. */
const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength))
