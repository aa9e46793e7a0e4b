import { mkdtempSync, mkdirSync, openSync, readSync, closeSync, existsSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { WAL_AUTOCHECKPOINT_PAGES, createSqliteStore, type SqliteStore } from '../../src/store/sqlite.js'
import { startCheckpointer } from '../../src/store/sqlite-checkpointer.js'
import { until } from '../helpers/wait.js'

/**
 * The WAL is checkpointed by a worker thread, not inside COMMIT on the event loop
 * (store/sqlite-checkpointer.ts). These tests watch the WAL itself: its header holds a checkpoint
 * sequence number that SQLite bumps each time a writer restarts the WAL after a full checkpoint.
 */
const WAL_HEADER = 32

function walCheckpointSeq(walFile: string): number {
  const fd = openSync(walFile, 'r')
  try {
    const header = Buffer.alloc(WAL_HEADER)
    if (readSync(fd, header, 0, WAL_HEADER, 0) < WAL_HEADER) return -1
    return header.readUInt32BE(12)
  } finally {
    closeSync(fd)
  }
}

const update = (i: number) => new Uint8Array(200).fill(i % 251)

describe('SQLite WAL checkpoints', () => {
  let dir = ''
  let opened: SqliteStore | undefined
  afterEach(async () => {
    await opened?.close()
    opened = undefined
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /** A store in a fresh DATA_DIR; `wal` is its WAL file. */
  const open = (checkpointIntervalMs: number) => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-wal-'))
    const store = createSqliteStore({ dataDir: dir, synchronous: 'NORMAL', checkpointIntervalMs })
    opened = store
    return { store, wal: join(dir, 'tandem.sqlite-wal') }
  }

  it('under sustained writes the WAL still restarts: it never grows without bound', async () => {
    // A worker that never gets to run within the test: what is left is the serving connection.
    const { store, wal } = open(3_600_000)
    await store.append([{ room: 'r', update: update(0) }])
    const before = walCheckpointSeq(wal)
    // Back-to-back commits, never a pause: ~3 WAL pages each, well past the serving connection's
    // threshold. A concurrent checkpointer alone would never let the WAL restart here.
    let restarts = 0
    let seq = before
    for (let i = 0; i < 3 * WAL_AUTOCHECKPOINT_PAGES; i++) {
      // Not awaited: the SQLite store commits inside the call; awaiting would put a pause between commits.
      void store.append([{ room: 'r', update: update(i) }])
      const now = walCheckpointSeq(wal)
      if (now !== seq) restarts++
      seq = now
    }
    expect(restarts).toBeGreaterThanOrEqual(1)
    expect((await store.load('r')).updates).toHaveLength(3 * WAL_AUTOCHECKPOINT_PAGES + 1)
  })

  it('the worker\'s checkpoint lets the next commit restart the WAL, below the serving connection\'s threshold', async () => {
    const { store, wal } = open(3_600_000)
    await store.append([{ room: 'r', update: update(0) }])
    const before = walCheckpointSeq(wal)
    // Fewer pages than the serving connection's threshold: only the worker can checkpoint them.
    for (let i = 0; i < 200; i++) await store.append([{ room: 'r', update: update(i) }])
    expect(walCheckpointSeq(wal)).toBe(before)
    await store.checkpointer!.checkpointNow()
    await store.append([{ room: 'r', update: update(0) }])
    expect(walCheckpointSeq(wal)).toBeGreaterThan(before)
  })

  it("the worker checkpoints on its own timer", async () => {
    const { store, wal } = open(20)
    await store.append([{ room: 'r', update: update(0) }])
    const before = walCheckpointSeq(wal)
    await until(async () => {
      await store.append([{ room: 'r', update: update(1) }])
      return walCheckpointSeq(wal) > before
    }, 'the WAL to be checkpointed by the worker and restarted')
  })

  it('checkpointNow copies every frame; close stops the worker and leaves no WAL behind', async () => {
    // A long interval: only the explicit checkpoint runs.
    const { store, wal } = open(3_600_000)
    for (let i = 0; i < 50; i++) await store.append([{ room: 'r', update: update(i) }])
    const result = await store.checkpointer!.checkpointNow()
    expect(result.log).toBeGreaterThan(0)
    expect(result.checkpointed).toBe(result.log)

    await store.close() // again in afterEach: a no-op
    expect(existsSync(wal)).toBe(false)
    // The database file alone has everything.
    const db = new Database(join(dir, 'tandem.sqlite'), { readonly: true })
    try {
      expect(db.prepare('SELECT count(*) AS n FROM updates').get()).toEqual({ n: 50 })
    } finally {
      db.close()
    }
  })

  it('a worker that dies is started again (with backoff) and reports its recovery; no restart of the process', async () => {
    // Its first start cannot even open the file (the directory is missing): the thread dies.
    dir = mkdtempSync(join(tmpdir(), 'tandem-wal-'))
    const file = join(dir, 'later', 'tandem.sqlite')
    const events: string[] = []
    const checkpointer = startCheckpointer({
      file,
      intervalMs: 20,
      onFailure: (err) => events.push(`failure: ${err.message}`),
      onRecovery: () => events.push('recovery'),
    })
    try {
      await until(() => events.length === 1, 'the failure reported')
      expect(events[0]).toMatch(/^failure: /)
      expect(checkpointer.failure).toBeDefined()
      // The cause goes away; the next start (1 s later) opens the file and checkpoints.
      mkdirSync(join(dir, 'later'))
      const db = new Database(file)
      db.pragma('journal_mode = WAL')
      db.exec('CREATE TABLE t (x)')
      db.close()
      await until(() => events.includes('recovery'), 'the restarted worker recovered', 5_000)
      expect(events).toHaveLength(2) // reported once each way, not once per attempt
      expect(checkpointer.failure).toBeUndefined()
      expect((await checkpointer.checkpointNow()).log).toBeGreaterThanOrEqual(0)
    } finally {
      await checkpointer.stop()
    }
  })

  it('checkpointIntervalMs 0: no worker, SQLite checkpoints inside commits as usual', async () => {
    const { store, wal } = open(0)
    expect(store.checkpointer).toBeUndefined()
    await store.append([{ room: 'r', update: update(0) }])
    const before = walCheckpointSeq(wal)
    // Enough commits to pass the 1000-page auto-checkpoint: COMMIT restarts the WAL by itself.
    for (let i = 0; i < 1500; i++) await store.append([{ room: 'r', update: update(i) }])
    expect(walCheckpointSeq(wal)).toBeGreaterThan(before)
  })
})
