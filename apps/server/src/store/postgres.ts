import pg from 'pg'
import * as Y from 'yjs'
import type { AppendEntry, DocStore, LoadedDoc, StoredRow } from './types.js'
import { createWriteHealth } from '../health/write-health.js'
import { StoreReason, describeError, withTimeout, type ComponentHealth } from '../health/model.js'
import { DEFAULT_PG_POOL_MAX, DEFAULT_PG_SCHEMA, DEFAULT_PG_STATEMENT_TIMEOUT_MS, PG_SCHEMA_NAME } from '../defaults.js'
import { conditionsHeld, roomQueries, type ListRow } from './postgres-rooms.js'
import { guardClients, transaction } from './postgres-pool.js'
import { hash32, migrate } from './postgres-schema.js'
import { createPostgresOutbox } from './postgres-outbox.js'
import type { OutboxOptions, WebhookOutbox } from './outbox.js'
import { createPostgresVersions } from './postgres-versions.js'
import { createPostgresUploads } from './postgres-uploads.js'

/**
 * Shared store (DATABASE_URL): PostgreSQL via node-postgres, same semantics as the SQLite store,
 * plus what several servers sharing one database need.
 *
 * Tables live in their own schema (`schema`, default DEFAULT_PG_SCHEMA), created and migrated on
 * start (postgres-schema.ts); every transaction goes through postgres-pool.ts.
 *
 * Group commit: `append` is ONE transaction per call, whatever the number of entries. The caller
 * (the server's committer) already gathers one event-loop turn of accepted updates into one
 * append call and keeps at most one append in flight, so a busy server pays one commit round
 * trip per turn instead of one per update. Nothing here batches behind the caller's back: when
 * append resolves, the rows are committed (the DocStore invariant).
 *
 * Per-room commit order: every transaction that writes a room (append, compact) first takes a
 * transaction-scoped advisory lock on (schema, room). Seqs come from one global sequence, so
 * without the lock two servers appending to the same room could commit seq 11 before seq 10, and
 * a reader who saw 11 but not yet 10 would later ask for "rows after 11" and miss 10 forever.
 * With the lock, within a room the committed seqs are always a prefix in seq order, which is what
 * makes `loadSince` (the catch-up after a fan-out outage) exact.
 */
export interface PostgresStoreOptions {
  /** postgres://… connection string */
  url: string
  /** schema holding the tables (created if missing); one per deployment, or one per test */
  schema?: string
  /** pool size (PG_POOL_MAX) */
  poolMax?: number
  /** server-side statement_timeout per connection, ms; 0 disables (PG_STATEMENT_TIMEOUT_MS) */
  statementTimeoutMs?: number
  /** how long to wait for a pooled connection before failing, ms */
  connectTimeoutMs?: number
  /** idle pooled connections that die (database restart) are reported here instead of crashing */
  onError?: (err: Error) => void
  /** writes started failing (an Error) or succeed again (undefined); see health/write-health.ts */
  onWriteHealth?: (failure: Error | undefined) => void
  /** WEBHOOK_URL is set: every append and deleteRoom also writes the webhook outbox (store/outbox.ts) */
  webhooks?: OutboxOptions
}

export interface PostgresStore extends DocStore {
  readonly schema: string
  /** the webhook outbox, when the store was opened with `webhooks` */
  readonly outbox: WebhookOutbox | undefined
  /**
   * Catch-up read for a room whose in-memory doc is known to hold every row with seq <= afterSeq:
   * rows after it, in seq order. If the room was compacted past afterSeq, the rows in between are
   * gone, so the snapshot comes back too (apply it whole; Yjs ignores what the doc already has).
   */
  loadSince(room: string, afterSeq: number): Promise<LoadedDoc>
  health(): Promise<ComponentHealth>
}

const HEALTH_TIMEOUT_MS = 2_000

/** Thrown inside the health probe's transaction so that transaction() rolls it back. */
const PROBE_ROLLBACK = new Error('health probe: rolled back on purpose')

/** A row of `load`/`loadSince`: part 0 is the snapshot, 1 a logged update; bigint seq comes as text. */
interface LoadRow {
  part: number
  seq: string
  data: Buffer
}

/** Rows per INSERT statement: 2 bind parameters each, far below PostgreSQL's 65,535 limit. */
const INSERT_CHUNK = 1000


export async function createPostgresStore(opts: PostgresStoreOptions): Promise<PostgresStore> {
  const schema = opts.schema ?? DEFAULT_PG_SCHEMA
  if (!PG_SCHEMA_NAME.test(schema)) {
    throw new Error(`PostgreSQL schema name ${JSON.stringify(schema)} must match ${PG_SCHEMA_NAME} (lower-case, unquoted identifier)`)
  }
  const s = `"${schema}"`
  const statementTimeoutMs = opts.statementTimeoutMs ?? DEFAULT_PG_STATEMENT_TIMEOUT_MS
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolMax ?? DEFAULT_PG_POOL_MAX,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    // Sent in the startup packet, so it applies to every statement on every pooled connection.
    ...(statementTimeoutMs > 0
      ? {
          statement_timeout: statementTimeoutMs,
          // A transaction left open (a bug, a stuck client) must not pin room locks forever.
          idle_in_transaction_session_timeout: Math.max(statementTimeoutMs * 2, 1000),
          // Client-side guard for a half-open TCP connection, where the server-side timeout never fires.
          query_timeout: statementTimeoutMs + 5_000,
        }
      : {}),
    application_name: 'tandem',
  })
  // An idle client whose connection drops emits 'error' on the pool; unhandled, it kills the process.
  pool.on('error', (err) => opts.onError?.(err))
  // A client that is not idle (checked out) has no listener of the pool's: see guardClients.
  guardClients(pool)

  // Advisory lock namespace: (schema key, room key), so deployments and tests sharing a database
  // never contend with each other.
  const schemaKey = hash32(schema)

  try {
    await migrate(pool, schema, s, schemaKey)
  } catch (err) {
    await pool.end().catch(() => {})
    throw err
  }

  const sql = {
    lockRooms: `SELECT pg_advisory_xact_lock($1::int4, k) FROM unnest($2::int4[]) AS t(k)`,
    load: `
      SELECT 0 AS part, seq, data FROM ${s}.snapshots WHERE room = $1
      UNION ALL
      SELECT 1 AS part, u.seq, u.data FROM ${s}.updates u
       WHERE u.room = $1 AND u.seq > COALESCE((SELECT seq FROM ${s}.snapshots WHERE room = $1), 0)
      ORDER BY part, seq`,
    loadSince: `
      SELECT 0 AS part, seq, data FROM ${s}.snapshots WHERE room = $1 AND seq > $2
      UNION ALL
      SELECT 1 AS part, u.seq, u.data FROM ${s}.updates u
       WHERE u.room = $1 AND u.seq > GREATEST($2, COALESCE((SELECT seq FROM ${s}.snapshots WHERE room = $1), 0))
      ORDER BY part, seq`,
    snapshotForUpdate: `SELECT seq, data FROM ${s}.snapshots WHERE room = $1`,
    rowsThrough: `SELECT seq, data FROM ${s}.updates WHERE room = $1 AND seq <= $2 ORDER BY seq`,
    upsertSnapshot: `
      INSERT INTO ${s}.snapshots (room, seq, data) VALUES ($1, $2, $3)
      ON CONFLICT (room) DO UPDATE SET seq = excluded.seq, data = excluded.data`,
    deleteThrough: `DELETE FROM ${s}.updates WHERE room = $1 AND seq <= $2`,
    quarantine: `
      WITH u AS (DELETE FROM ${s}.updates WHERE room = $1 AND seq = ANY($2::int8[]) RETURNING room, seq, data),
           -- like SQLite: a seq names a log row if one exists, else the snapshot taken at it
           sn AS (DELETE FROM ${s}.snapshots sp WHERE sp.room = $1 AND sp.seq = ANY($2::int8[])
                    AND NOT EXISTS (SELECT 1 FROM ${s}.updates x WHERE x.room = $1 AND x.seq = sp.seq)
                  RETURNING sp.room, sp.seq, sp.data)
      INSERT INTO ${s}.quarantine (room, seq, data, reason)
      SELECT room, seq, data, $3 FROM u UNION ALL SELECT room, seq, data, $3 FROM sn`,
  }

  /**
   * Health: can the database be reached, and does it take writes? A failed write (a read-only
   * standby after a failover, disk full, a lost connection) marks the store failing until a later
   * write succeeds or the probe does: an INSERT into the log, rolled back, so it goes through the
   * same checks (read-only, space for the table to grow) and leaves no row (it uses up one seq:
   * seqs only need to increase). Probes are single-flight: polling /healthz while the database
   * hangs does not pile queries onto the pool.
   */
  const writes = createWriteHealth({
    probe: () =>
      transaction(pool, async (c) => {
        await c.query(`INSERT INTO ${s}.updates (room, data) VALUES ('', '')`)
        throw PROBE_ROLLBACK
      }).catch((err: unknown) => {
        if (err !== PROBE_ROLLBACK) throw err
      }),
    probeTimeoutMs: HEALTH_TIMEOUT_MS,
    onChange: opts.onWriteHealth,
  })
  const written = async <T>(write: Promise<T>): Promise<T> => {
    try {
      const result = await write
      writes.succeeded()
      return result
    } catch (err) {
      writes.failed(err)
      throw err
    }
  }
  /**
   * Runs fn in one transaction (a write: its outcome is the store's write health); deadlocks
   * (lock order is deterministic, so only as a safety net) retry.
   */
  const tx = <T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> => written(retried(fn))
  async function retried<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await transaction(pool, fn)
      } catch (err) {
        // Only errors that guarantee nothing was committed are retried (on a fresh checkout); a
        // connection lost during COMMIT has an unknown outcome and must surface to the caller.
        const code = (err as { code?: string }).code
        if ((code === '40P01' || code === '40001') && attempt < 5) continue
        throw err
      }
    }
  }

  /** Takes the per-room write locks, in ascending key order so two writers never deadlock. */
  const lockRooms = (c: pg.PoolClient, rooms: Iterable<string>) => {
    const keys = [...new Set([...rooms].map(hash32))].sort((a, b) => a - b)
    return c.query(sql.lockRooms, [schemaKey, keys])
  }

  const toRows = (rows: LoadRow[]): LoadedDoc => {
    let snapshot: StoredRow | null = null
    const updates: StoredRow[] = []
    for (const r of rows) {
      const row = { seq: Number(r.seq), data: r.data }
      if (r.part === 0) snapshot = row
      else updates.push(row)
    }
    return { snapshot, updates }
  }

  let reaching: Promise<unknown> | undefined
  const reachable = () => (reaching ??= pool.query('SELECT 1').finally(() => (reaching = undefined)))
  const rooms = roomQueries(s)
  const changes = opts.webhooks && createPostgresOutbox(pool, s, opts.webhooks)

  let closed = false
  const store: PostgresStore = {
    kind: 'postgres',
    schema,
    outbox: changes ? changes.outbox : undefined,

    // One statement sees one MVCC snapshot, so snapshot and log are consistent without a transaction.
    load: async (room) => toRows((await pool.query<LoadRow>(sql.load, [room])).rows),

    loadSince: async (room, afterSeq) => toRows((await pool.query<LoadRow>(sql.loadSince, [room, afterSeq])).rows),

    append: async (entries) => {
      if (entries.length === 0) return []
      return tx(async (c) => {
        await lockRooms(c, entries.map((e) => e.room))
        // Conditional entries (AppendEntry.ifLastSeq), checked under the room locks just taken.
        const held = await conditionsHeld(c, rooms, entries)
        const writing = held ? entries.filter((_, i) => held[i]) : entries
        const seqs: number[] = []
        for (let i = 0; i < writing.length; i += INSERT_CHUNK) {
          const chunk = writing.slice(i, i + INSERT_CHUNK)
          // VALUES rows are inserted in list order, and nextval() runs per inserted row, so the
          // seqs ascend in input order; sorting RETURNING (whose order SQL does not promise)
          // recovers exactly the input order.
          const values = chunk.map((_, j) => `($${2 * j + 1}, $${2 * j + 2})`).join(', ')
          const params = chunk.flatMap((e: AppendEntry) => [e.room, asBuffer(e.update)])
          const res = await c.query<{ seq: string }>(`INSERT INTO ${s}.updates (room, data) VALUES ${values} RETURNING seq`, params)
          seqs.push(...res.rows.map((r) => Number(r.seq)).sort((a, b) => a - b))
        }
        let next = 0
        const result = held ? held.map((ok) => (ok ? seqs[next++]! : 0)) : seqs
        if (changes) await changes.appended(c, entries, result, Date.now())
        return result
      })
    },

    lastSeq: async (room) => Number((await pool.query<{ seq: string }>(rooms.lastSeq, [room])).rows[0]!.seq),

    listRooms: async ({ prefix, after, limit }) => rooms.toInfos((await pool.query<ListRow>(rooms.list, [after ?? null, prefix, limit])).rows),

    deleteRoom: async (room) => {
      await tx(async (c) => {
        await lockRooms(c, [room])
        if (changes) await changes.deleting(c, room, Date.now())
        for (const q of rooms.deletes) await c.query(q, [room])
      })
    },

    compact: async (room, snapshot, throughSeq) => {
      await tx(async (c) => {
        await lockRooms(c, [room])
        const prev = (await c.query<{ seq: string; data: Buffer }>(sql.snapshotForUpdate, [room])).rows[0]
        const rows = (await c.query<{ seq: string; data: Buffer }>(sql.rowsThrough, [room, throughSeq])).rows
        // Several servers hold the same room. The caller's doc may lack a row another server
        // committed but whose fan-out message had not arrived yet (or was lost in a Redis outage).
        // Replacing blindly would delete that row and leave it out of the snapshot: silent data
        // loss. So the new snapshot is the union of the caller's snapshot, the previous snapshot
        // and every row it replaces. Caller's snapshot first: where structs overlap, its (GC'd)
        // version wins, so when nothing was missing the result is about the caller's size.
        const parts = [snapshot, ...(prev ? [prev.data] : []), ...rows.map((r) => r.data)]
        const merged = parts.length === 1 ? { data: snapshot, unreadable: [] } : mergeOrQuarantine(parts, snapshot, prev, rows)
        // A slower server can compact "through" an older seq than a faster one already did; the
        // snapshot seq never moves backwards (the merged data covers both).
        const seq = Math.max(throughSeq, prev ? Number(prev.seq) : 0)
        await c.query(sql.upsertSnapshot, [room, seq, asBuffer(merged.data)])
        await c.query(rooms.foldTimes, [room, throughSeq])
        await c.query(sql.deleteThrough, [room, throughSeq])
        for (const bad of merged.unreadable) {
          await c.query(`INSERT INTO ${s}.quarantine (room, seq, data, reason) VALUES ($1, $2, $3, $4)`, [
            room,
            bad.seq,
            bad.data,
            'unreadable at compaction',
          ])
        }
      })
    },

    versions: createPostgresVersions({ pool, s, tx, lockRoom: (c, room) => lockRooms(c, [room]) }),

    uploads: createPostgresUploads({ pool, s, tx, lockRoom: (c, room) => lockRooms(c, [room]) }),

    quarantine: async (room, seqs, reason) => {
      if (seqs.length === 0) return
      await written(pool.query(sql.quarantine, [room, seqs.map(String), reason]))
    },

    health: async () => {
      // Bounded: /healthz must answer even while the pool waits for a database that is gone.
      try {
        await withTimeout(reachable(), HEALTH_TIMEOUT_MS)
      } catch (err) {
        return { ok: false, reason: StoreReason.Unreachable, detail: describeError(err) }
      }
      return writes.check()
    },

    close: async () => {
      if (closed) return
      closed = true
      // Waits for checked-out clients (an in-flight append) to be released, then disconnects.
      await pool.end()
    },
  }
  return store
}

interface PgRow {
  seq: string
  data: Buffer
}

/**
 * Y.mergeUpdates over all parts; if that throws, finds the unreadable stored parts, leaves them
 * out (they are quarantined in the same transaction) and merges the rest. The caller's own
 * snapshot being unreadable is a bug upstream: that throws and the compaction rolls back.
 */
function mergeOrQuarantine(
  parts: Uint8Array[],
  snapshot: Uint8Array,
  prev: PgRow | undefined,
  rows: PgRow[],
): { data: Uint8Array; unreadable: { seq: number; data: Buffer }[] } {
  try {
    return { data: Y.mergeUpdates(parts), unreadable: [] }
  } catch {
    const readable = (u: Uint8Array) => {
      try {
        Y.decodeUpdate(u)
        return true
      } catch {
        return false
      }
    }
    if (!readable(snapshot)) throw new Error('compact: the snapshot to store is not a valid Yjs update')
    const stored = [...(prev ? [prev] : []), ...rows]
    const unreadable = stored.filter((r) => !readable(r.data)).map((r) => ({ seq: Number(r.seq), data: r.data }))
    const ok = stored.filter((r) => readable(r.data)).map((r) => r.data)
    return { data: Y.mergeUpdates([snapshot, ...ok]), unreadable }
  }
}



/** node-postgres sends Buffers as binary parameters; wrap a Uint8Array view without copying. */
const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength))
