import { watch } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { SyncProvider } from '@tandem/sync/provider'
import { text } from '../helpers/clients.js'
import { spawnServer, tempDir, removeDir, type ChildServer } from '../helpers/server.js'
import { dropSchema, requirePostgres, uniqueName, withPg } from '../helpers/services.js'
import { until } from '../helpers/wait.js'
import { PG_SCHEMA_VERSION } from '../../src/store/postgres-schema.js'
import { moreSaved, typist, type Typist } from './harness.js'

/**
 * A server `kill -9`'d in the middle of a store operation, then started again on the same store:
 * nothing acknowledged is lost, nothing is doubled, the store is consistent (it loads, nothing
 * quarantined; SQLite's integrity check passes), and the clients' unsaved edits reach it once they
 * reconnect. Each kill lands at a point the test observes, not at a random moment:
 *
 * - compaction (PostgreSQL): the test holds row locks on the room's log rows, so the compaction's
 *   DELETE of them waits inside its transaction (seen in pg_stat_activity); the server dies there.
 * - WAL checkpoint (SQLite): in WAL mode only a checkpoint writes the database file itself; the
 *   server dies on the first write to it that inotify reports (fs.watch), under a heavy write load.
 * - schema migration (PostgreSQL): a schema at version 1 holding data; the test holds a lock on
 *   the log table, so migration 2's ALTER TABLE waits inside the migration's transaction; the
 *   server dies there, before it ever listened.
 */
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => {})
})

const ROOM = 'chaos'
const pieces = (s: string) => s.split(';').filter(Boolean).sort()

async function start(env: Record<string, string>): Promise<ChildServer> {
  const s = await spawnServer({ LOG_LEVEL: 'info', ...env })
  cleanups.push(() => kill(s))
  return s
}

async function kill(s: ChildServer): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return
  s.child.kill('SIGKILL')
  await s.exited
}

async function stateOf(server: ChildServer, room: string): Promise<string> {
  const res = await fetch(`${server.url}/api/rooms/${encodeURIComponent(room)}/state`)
  expect(res.status).toBe(200)
  const doc = new Y.Doc()
  Y.applyUpdate(doc, new Uint8Array(await res.arrayBuffer()))
  return text(doc)
}

/** Right after the kill: the clients stop typing and let go of the dead server; what each had acknowledged. */
function stopAll(typists: Typist[]): number[] {
  for (const t of typists) {
    t.stop()
    t.provider.destroy()
  }
  return typists.map((t) => t.savedThrough())
}

/**
 * After the restart: the store alone (no client connected yet) holds every acknowledged edit
 * once; then the clients reconnect with their documents (holding the edits the dead server
 * never acknowledged) and everything typed ends up stored, each edit once.
 */
async function checkRestarted(fault: string, killedAt: number, server: ChildServer, typists: Typist[], acked: number[]): Promise<void> {
  const readyAt = performance.now()
  const stored = pieces(await stateOf(server, ROOM))
  expect(new Set(stored).size, 'no edit stored twice').toBe(stored.length)
  for (const [i, t] of typists.entries()) {
    const missing = Array.from({ length: acked[i]! }, (_, n) => `${t.tag}${n}`).filter((p) => !stored.includes(p))
    expect(missing, `${t.tag}: acknowledged before the kill, missing after the restart`).toEqual([])
  }

  const expected = pieces(typists.flatMap((t) => Array.from({ length: t.typed() }, (_, n) => `${t.tag}${n};`)).join(''))
  const providers = typists.map((t) => new SyncProvider({ url: server.wsUrl, room: ROOM, doc: t.doc, WebSocket, initialBackoffMs: 20, maxBackoffMs: 200 }))
  cleanups.push(() => providers.forEach((p) => p.destroy()))
  await until(
    () => providers.every((p) => p.unsavedChanges === 0) && typists.every((t) => t.text() === typists[0]!.text()) && pieces(typists[0]!.text()).length === expected.length,
    `${fault}: the clients converge on the restarted server`,
    30_000,
  )
  const convergedAt = performance.now()
  expect(pieces(typists[0]!.text())).toEqual(expected)
  expect(pieces(await stateOf(server, ROOM))).toEqual(expected)
  console.log(
    `[chaos] ${fault}: kill → restarted ${(readyAt - killedAt).toFixed(0)} ms, → clients converged ${(convergedAt - killedAt).toFixed(0)} ms ` +
      `(${expected.length} edits, ${acked.join('/')} acknowledged before the kill, ${stored.length} in the store at restart)`,
  )
}

describe('chaos: kill -9 mid-operation', () => {
  it('during a compaction (PostgreSQL): the transaction rolls back; nothing acknowledged lost, nothing doubled, nothing quarantined', async () => {
    const pgUrl = await requirePostgres()
    const schema = uniqueName('t_k9')
    const dataDir = tempDir()
    cleanups.push(() => removeDir(dataDir))
    cleanups.push(() => dropSchema(schema))
    const env = { DATABASE_URL: pgUrl, PG_SCHEMA: schema, DATA_DIR: dataDir, COMPACT_AFTER_UPDATES: '100' }
    const a = await start(env)
    const typists = ['x', 'y'].map((who) => typist(a.wsUrl, ROOM, who, cleanups))
    await moreSaved(typists, 5, 'edits saved')

    // Lock the log rows stored so far: the next compaction's DELETE of them waits mid-transaction.
    const locker = new pg.Client({ connectionString: pgUrl })
    await locker.connect()
    cleanups.push(() => locker.end())
    await locker.query('BEGIN')
    const held = await locker.query(`SELECT seq FROM "${schema}".updates WHERE room = $1 FOR UPDATE`, [ROOM])
    expect(held.rowCount).toBeGreaterThan(0)
    await until(
      async () =>
        (await withPg((c) => c.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [`DELETE FROM "${schema}".updates %`]))).rowCount,
      'a compaction waiting inside its transaction',
      20_000,
    )
    await kill(a)
    const killedAt = performance.now()
    const acked = stopAll(typists)
    await locker.query('ROLLBACK')

    const b = await start(env)
    await checkRestarted('kill -9 during a compaction (PostgreSQL)', killedAt, b, typists, acked)
    const quarantined = await withPg((c) => c.query(`SELECT count(*)::int AS n FROM "${schema}".quarantine`))
    expect(quarantined.rows[0]).toEqual({ n: 0 })
  }, 90_000)

  it('during a WAL checkpoint (SQLite): nothing acknowledged lost, nothing doubled, integrity check ok', async () => {
    const dataDir = tempDir()
    cleanups.push(() => removeDir(dataDir))
    const env = { DATA_DIR: dataDir, COMPACT_AFTER_UPDATES: '200' }
    const a = await start(env)
    const typists = ['x', 'y'].map((who) => typist(a.wsUrl, ROOM, who, cleanups))
    // A heavy writer in another room: megabytes of WAL per second, so each checkpoint has pages to copy.
    const bulk = new Y.Doc()
    const bulkProvider = new SyncProvider({ url: a.wsUrl, room: 'bulk', doc: bulk, WebSocket, initialBackoffMs: 20, maxBackoffMs: 200 })
    cleanups.push(() => bulkProvider.destroy())
    const bulkTimer = setInterval(() => bulk.getText('t').insert(0, 'z'.repeat(64 * 1024)), 5)
    cleanups.push(() => clearInterval(bulkTimer))
    await moreSaved(typists, 10, 'edits saved')

    const file = join(dataDir, 'tandem.sqlite')
    let killedAt = 0
    await new Promise<void>((resolve) => {
      // Only a checkpoint writes the database file in WAL mode: the first write reported kills the server.
      const watcher = watch(file, () => {
        if (killedAt) return
        a.child.kill('SIGKILL')
        killedAt = performance.now()
        watcher.close()
        resolve()
      })
    })
    await a.exited
    clearInterval(bulkTimer)
    bulkProvider.destroy()
    const acked = stopAll(typists)

    const check = new Database(file, { readonly: true })
    try {
      // The WAL is still there with frames the checkpoint had not finished copying: recovery's job.
      expect(check.pragma('integrity_check', { simple: true })).toBe('ok')
    } finally {
      check.close()
    }
    const b = await start(env)
    await checkRestarted('kill -9 during a WAL checkpoint (SQLite)', killedAt, b, typists, acked)
    const db = new Database(file, { readonly: true })
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
      expect(db.prepare('SELECT count(*) AS n FROM quarantine').get()).toEqual({ n: 0 })
    } finally {
      db.close()
    }
  }, 90_000)

  it('during a schema migration (PostgreSQL): the migration rolls back whole; the next start migrates, every stored edit kept', async () => {
    const pgUrl = await requirePostgres()
    const schema = uniqueName('t_k9m')
    const dataDir = tempDir()
    cleanups.push(() => removeDir(dataDir))
    cleanups.push(() => dropSchema(schema))
    const env = { DATABASE_URL: pgUrl, PG_SCHEMA: schema, DATA_DIR: dataDir }
    const first = await start(env)
    const typists = ['x', 'y'].map((who) => typist(first.wsUrl, ROOM, who, cleanups))
    await moreSaved(typists, 30, 'edits saved')
    await kill(first)
    const acked = stopAll(typists)
    const before = await withPg((c) => c.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".updates`))

    // Back to version 1's layout (migration 1's tables, without what migrations 2 and later add:
    // the listing's times, the webhook outbox, the versions table, the uploads table).
    const q = `"${schema}"`
    await withPg((c) =>
      c.query(`ALTER TABLE ${q}.updates DROP COLUMN at; ALTER TABLE ${q}.snapshots DROP COLUMN created_at, DROP COLUMN updated_at;
               DROP TABLE ${q}.webhook_changes, ${q}.webhook_outbox, ${q}.versions, ${q}.uploads;
               DELETE FROM ${q}.schema_version WHERE version > 1`),
    )
    const locker = new pg.Client({ connectionString: pgUrl })
    await locker.connect()
    cleanups.push(() => locker.end())
    await locker.query('BEGIN')
    await locker.query(`SELECT 1 FROM ${q}.updates LIMIT 1`) // ACCESS SHARE until the transaction ends: ALTER TABLE waits

    let child: import('node:child_process').ChildProcess | undefined
    const starting = spawnServer({ LOG_LEVEL: 'info', ...env }, { onChild: (c) => (child = c) }).catch((err: Error) => err)
    await until(
      async () => (await withPg((c) => c.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, ['%ALTER TABLE "' + schema + '".updates ADD COLUMN at%']))).rowCount,
      'the migration waiting inside its transaction',
      20_000,
    )
    child!.kill('SIGKILL')
    const killedAt = performance.now()
    expect(await starting).toBeInstanceOf(Error) // it died before listening
    await locker.query('ROLLBACK')

    // Nothing of migration 2 happened: still version 1, no new column, the log untouched.
    const after = await withPg(async (c) => ({
      version: (await c.query<{ v: number }>(`SELECT max(version)::int AS v FROM ${q}.schema_version`)).rows[0],
      column: (await c.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'updates' AND column_name = 'at'`, [schema])).rowCount,
      rows: (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${q}.updates`)).rows[0],
    }))
    expect(after).toEqual({ version: { v: 1 }, column: 0, rows: before.rows[0] })

    const b = await start(env)
    const version = await withPg((c) => c.query(`SELECT max(version)::int AS v FROM ${q}.schema_version`))
    expect(version.rows[0]).toEqual({ v: PG_SCHEMA_VERSION })
    await checkRestarted('kill -9 during a schema migration (PostgreSQL)', killedAt, b, typists, acked)
  }, 90_000)
})
