import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import pg from 'pg'
import { SAVED_ACK_PROTOCOL, readFrame, writeSyncUpdate } from '@tandem/sync'
import { SyncProvider } from '@tandem/sync/provider'
import { createPostgresStore } from '../../src/store/postgres.js'
import { roomLockKey } from '../../src/store/postgres-schema.js'
import { removeDir, spawnServer, tempDir, type ChildServer } from '../helpers/server.js'
import { dropSchema, requirePostgres, uniqueName } from '../helpers/services.js'
import { closeOf } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'

/**
 * PostgreSQL terminating the server's sessions mid-traffic (pg_terminate_backend: a failover, an
 * operator, a pooler): the built server runs as a child process, so "the process does not die" is
 * observed for real. Only this test's sessions are terminated: the server's pool connects with its
 * own application_name (in DATABASE_URL), and the kills select on it.
 */

let pgUrl = ''
beforeAll(async () => {
  pgUrl = await requirePostgres()
})

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => {})
})

interface FaultyServer {
  s: ChildServer
  schema: string
  /** the application_name of the server's sessions */
  app: string
  /** resolves p, or fails the moment the server process exits (with its stderr) */
  alive<T>(p: Promise<T>): Promise<T>
}

async function startServer(): Promise<FaultyServer> {
  const schema = uniqueName('t_pgf')
  const app = uniqueName('tandem_pgf')
  const url = new URL(pgUrl)
  url.searchParams.set('application_name', app)
  const dataDir = tempDir()
  cleanups.push(async () => {
    await dropSchema(schema)
    removeDir(dataDir)
  })
  // Compaction often, so its transactions are in the line of fire too.
  const s = await spawnServer({ DATABASE_URL: url.toString(), PG_SCHEMA: schema, DATA_DIR: dataDir, COMPACT_AFTER_UPDATES: '25' })
  cleanups.push(async () => {
    if (s.child.exitCode === null && s.child.signalCode === null) {
      s.child.kill('SIGKILL')
      await s.exited
    }
  })
  const died = s.exited.then(({ code, signal }) => {
    throw new Error(`the server process died (exit ${code ?? signal}); stderr:\n${s.stderr()}`)
  })
  died.catch(() => {})
  return { s, schema, app, alive: (p) => Promise.race([p, died]) }
}

/** The test's own session (default application_name: never among the terminated ones). */
async function adminClient(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 3_000 })
  await c.connect()
  cleanups.push(() => c.end())
  return c
}

/** Terminates every session of the server under test; resolves with how many there were. */
async function terminate(admin: pg.Client, app: string): Promise<number> {
  const r = await admin.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) t',
    [app],
  )
  return r.rows[0]!.n
}

/**
 * Terminates every session of the server under test if one of them is inside a transaction or a
 * statement right now (the kills that hit a checked-out client); resolves with how many, 0 if
 * none was busy (then nothing was terminated).
 */
async function terminateWhileBusy(admin: pg.Client, app: string): Promise<number> {
  const r = await admin.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (
       SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = $1
          AND EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND state IN ('active', 'idle in transaction'))
     ) t`,
    [app],
  )
  return r.rows[0]!.n
}

/** An update independent of every other (its own client id): a lost one never blocks the rest. */
function entry(key: string): Uint8Array {
  const d = new Y.Doc()
  d.getMap('m').set(key, true)
  return Y.encodeStateAsUpdate(d)
}

/** The keys of a room as stored in the database (not the server's memory). */
async function storedKeys(schema: string, room: string): Promise<Set<string>> {
  const store = await createPostgresStore({ url: pgUrl, schema })
  try {
    const { snapshot, updates } = await store.load(room)
    const d = new Y.Doc()
    for (const row of [...(snapshot ? [snapshot] : []), ...updates]) Y.applyUpdate(d, row.data)
    return new Set(d.getMap('m').keys())
  } finally {
    await store.close()
  }
}

/** A raw client with "saved" acknowledgements that records which of its keys were acknowledged. */
async function rawClient(wsUrl: string, room: string) {
  const ws = new WebSocket(`${wsUrl}/${room}`, [SAVED_ACK_PROTOCOL])
  const sent: string[] = []
  const acked: string[] = []
  ws.on('message', (d: Buffer) => {
    const f = readFrame(d)
    if (f.type === 'saved') while (acked.length < f.count) acked.push(sent[acked.length]!)
  })
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  cleanups.push(() => ws.terminate())
  return {
    ws,
    acked,
    send(key: string) {
      sent.push(key)
      ws.send(writeSyncUpdate(entry(key)))
    },
  }
}

/**
 * A writer sending one update every 100 ms, reconnecting whenever its connection closes (a
 * failed commit closes it with 1011); `acked` collects every key the server acknowledged.
 */
function writer(f: FaultyServer, room: string, id: string) {
  const acked: string[] = []
  const closeCodes: number[] = []
  let n = 0
  let stopped = false
  let current: WebSocket | undefined
  let sent: string[] = []
  const connect = () => {
    if (stopped || f.s.child.exitCode !== null || f.s.child.signalCode !== null) return
    const ws = new WebSocket(`${f.s.wsUrl}/${room}`, [SAVED_ACK_PROTOCOL])
    const mine: string[] = []
    let ackedHere = 0
    ws.on('message', (d: Buffer) => {
      const fr = readFrame(d)
      if (fr.type !== 'saved') return
      while (ackedHere < fr.count) acked.push(mine[ackedHere++]!)
    })
    ws.on('error', () => {})
    ws.on('close', (code) => {
      closeCodes.push(code)
      if (current === ws) current = undefined
      setImmediate(connect)
    })
    current = ws
    sent = mine
  }
  connect()
  const timer = setInterval(() => {
    if (current?.readyState !== WebSocket.OPEN) return
    const key = `${id}-${n++}`
    sent.push(key)
    current.send(writeSyncUpdate(entry(key)))
  }, 100)
  const stop = () => {
    stopped = true
    clearInterval(timer)
    current?.terminate()
  }
  cleanups.push(stop)
  return { room, acked, closeCodes, stop }
}

describe('PostgreSQL terminating the server\'s connections', () => {
  it('a session killed inside a commit (a checked-out client in a transaction): the commit fails with 1011, the process lives, the next write is stored', async () => {
    const f = await startServer()
    const admin = await adminClient()
    // Hold the room's commit lock, so the server's append waits inside its transaction.
    const key = roomLockKey(f.schema, 'held')
    await admin.query('SELECT pg_advisory_lock($1, $2)', key)
    const c = await rawClient(f.s.wsUrl, 'held')
    const closed = closeOf(c.ws)
    c.send('blocked')
    await f.alive(
      until(
        async () =>
          (await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [f.app])).rowCount,
        'the append waiting for the room lock',
      ),
    )
    expect(await terminate(admin, f.app)).toBeGreaterThan(0)
    await admin.query('SELECT pg_advisory_unlock($1, $2)', key)

    // The failed commit is not acknowledged: its connection closes with 1011 (the client resyncs).
    const { code } = await f.alive(closed)
    expect(code, `close code ${code}; the server's stderr:\n${f.s.stderr()}`).toBe(1011)
    expect(c.acked).toEqual([])

    // The store recovers by itself: the next write is acknowledged, and it is in the database.
    const again = await rawClient(f.s.wsUrl, 'held')
    again.send('after')
    await f.alive(until(() => again.acked.length === 1, 'the write after the kill acknowledged'))
    const keys = await storedKeys(f.schema, 'held')
    expect(keys.has('after')).toBe(true)
    expect(keys.has('blocked')).toBe(false)
    expect(f.s.child.exitCode).toBeNull()
  })

  it('six writers at 10 updates/s while every session of the server is terminated again and again: the process lives, nothing acknowledged is lost', { timeout: 90_000 }, async () => {
    const f = await startServer()
    const admin = await adminClient()
    const rooms = ['r0', 'r1', 'r2']
    const writers = Array.from({ length: 6 }, (_, i) => writer(f, rooms[i % rooms.length]!, `w${i}`))
    const ackedTotal = () => writers.reduce((n, w) => n + w.acked.length, 0)
    await f.alive(until(() => writers.every((w) => w.acked.length > 0), 'every writer acknowledged once'))

    // Every other kill lands whenever it lands (mostly on idle connections: the pool's own
    // handling); the others wait for a moment when a session is inside a transaction.
    const KILLS = 20
    let terminated = 0
    for (let round = 1; round <= KILLS; round++) {
      const before = ackedTotal()
      terminated +=
        round % 2 === 1
          ? await terminate(admin, f.app)
          : await f.alive(until(() => terminateWhileBusy(admin, f.app), `kill ${round}: a server session inside a transaction`))
      // The next kill only once the store is back: new acknowledgements since this one.
      await f.alive(until(() => ackedTotal() >= before + 6, `acknowledgements after kill ${round}`, 20_000))
    }
    for (const w of writers) w.stop()
    expect(terminated).toBeGreaterThanOrEqual(KILLS)
    // The kills did hit commits: failed ones closed their writers' connections with 1011.
    expect(writers.flatMap((w) => w.closeCodes)).toContain(1011)
    expect(f.s.child.exitCode).toBeNull()
    expect(f.s.child.signalCode).toBeNull()

    // A fresh client writes; another fresh client reads it back through the server.
    const doc = new Y.Doc()
    const p = new SyncProvider({ url: f.s.wsUrl, room: 'r0', doc, WebSocket })
    cleanups.push(() => p.destroy())
    await f.alive(until(() => p.synced && p.savedState === 'supported', 'fresh client synced'))
    doc.getMap('m').set('fresh', true)
    await f.alive(until(() => p.unsavedChanges === 0, 'fresh write acknowledged'))
    const doc2 = new Y.Doc()
    const p2 = new SyncProvider({ url: f.s.wsUrl, room: 'r0', doc: doc2, WebSocket })
    cleanups.push(() => p2.destroy())
    await f.alive(until(() => p2.synced && doc2.getMap('m').has('fresh'), 'fresh write read back'))

    // Nothing acknowledged is lost: every acknowledged key is in the database.
    for (const room of rooms) {
      const keys = await storedKeys(f.schema, room)
      const missing = writers.filter((w) => w.room === room).flatMap((w) => w.acked.filter((k) => !keys.has(k)))
      expect(missing, `acknowledged but not stored in ${room}`).toEqual([])
    }
    expect((await storedKeys(f.schema, 'r0')).has('fresh')).toBe(true)
    expect(f.s.child.exitCode).toBeNull()
  })
})
