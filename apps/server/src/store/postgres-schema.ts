import type pg from 'pg'
import { ROOM_TIMES_MIGRATION } from './postgres-rooms.js'
import { VERSIONS_MIGRATION } from './postgres-versions.js'
import { transaction } from './postgres-pool.js'
import { WEBHOOK_OUTBOX_MIGRATION } from './postgres-outbox.js'
import { UPLOADS_MIGRATION } from './postgres-uploads.js'

/**
 * The PostgreSQL store's schema (postgres.ts): its migrations, applied in order on start under a
 * transaction-scoped advisory lock (N servers starting together migrate once; `schema_version`
 * records them), and the advisory-lock key of a room's writes.
 */

const MIGRATIONS: readonly ((s: string) => string)[] = [
  // 1: the same three tables as SQLite. bigserial seq: strictly increasing per store.
  (s) => `
    CREATE TABLE ${s}.updates (
      seq  bigserial PRIMARY KEY,
      room text NOT NULL,
      data bytea NOT NULL
    );
    CREATE INDEX updates_room_seq ON ${s}.updates (room, seq);
    CREATE TABLE ${s}.snapshots (
      room text PRIMARY KEY,
      seq  bigint NOT NULL,
      data bytea NOT NULL
    );
    CREATE TABLE ${s}.quarantine (
      room   text NOT NULL,
      seq    bigint NOT NULL,
      data   bytea NOT NULL,
      reason text NOT NULL,
      at     timestamptz NOT NULL DEFAULT now()
    );`,
  // 2: times for the room listing (postgres-rooms.ts)
  ROOM_TIMES_MIGRATION,
  // 3: the webhook outbox (postgres-outbox.ts); empty unless WEBHOOK_URL is set
  WEBHOOK_OUTBOX_MIGRATION,
  // 4: version history (postgres-versions.ts)
  VERSIONS_MIGRATION,
  // 5: uploaded images (postgres-uploads.ts)
  UPLOADS_MIGRATION,
]

/** The version a schema is at once migrated: one per migration. */
export const PG_SCHEMA_VERSION = MIGRATIONS.length

/** Creates the schema or brings it to the current version, in one transaction. */
export function migrate(pool: pg.Pool, schema: string, s: string, schemaKey: number): Promise<void> {
  return transaction(pool, async (c) => {
    // Serialises concurrent starts (CREATE SCHEMA IF NOT EXISTS itself races on the catalog).
    await c.query('SELECT pg_advisory_xact_lock($1::int4, 0)', [schemaKey])
    // CREATE SCHEMA checks the CREATE privilege before IF NOT EXISTS: skip it when the schema
    // exists, so a role that owns a pre-created schema needs no database-level privilege.
    const exists = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
    if (exists.rowCount === 0) await c.query(`CREATE SCHEMA ${s}`)
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_version (
      version    int PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)
    const { rows } = await c.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${s}.schema_version`)
    const current = rows[0]?.v ?? 0
    if (current > MIGRATIONS.length) {
      throw new Error(
        `PostgreSQL schema ${schema} is at version ${current}, newer than this server knows (${MIGRATIONS.length}): refusing to run an old server against it`,
      )
    }
    for (let v = current + 1; v <= MIGRATIONS.length; v++) {
      await c.query(MIGRATIONS[v - 1]!(s))
      await c.query(`INSERT INTO ${s}.schema_version (version) VALUES ($1)`, [v])
    }
  })
}

/**
 * The advisory lock (two int4 keys) a write transaction holds on a room: operators can find it in
 * pg_locks (classid, objid), and tests can hold it to play a concurrent writer.
 */
export function roomLockKey(schema: string, room: string): [number, number] {
  return [hash32(schema), hash32(room)]
}

/** FNV-1a, 32-bit signed: advisory-lock keys. A collision only serialises two rooms' commits. */
export function hash32(str: string): number {
  let h = 0x811c9dc5
  const bytes = Buffer.from(str, 'utf8')
  for (const b of bytes) {
    h ^= b
    h = Math.imul(h, 0x01000193)
  }
  return h | 0
}
