import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/**
 * WAL checkpoints, mostly off the event loop.
 *
 * With SQLite's default auto-checkpoint, every ~1000 pages a COMMIT copies the WAL back into the
 * database file inside that COMMIT, i.e. on the thread that relays: a stall every fraction of a
 * second at a few thousand updates/s (bench/results/profile-notes.md). This worker thread holds a
 * second connection that runs PASSIVE checkpoints on a timer, so the copying happens here. PASSIVE
 * never takes the write lock and never waits: commits are not delayed, and durability is unchanged
 * (a commit is in the WAL, synced as `synchronous` says, before it is relayed, whoever copies it).
 *
 * A concurrent checkpointer alone cannot restart the WAL while writes keep coming (it never copies
 * the frames written during its own pass), so the serving connection keeps SQLite's checkpoint at
 * a higher threshold (sqlite.ts): it then only finishes the tail, and the WAL stays bounded.
 */
export interface Checkpointer {
  /** Runs one checkpoint now; resolves with SQLite's report (tests, shutdown). */
  checkpointNow(): Promise<CheckpointResult>
  /** Stops the timer and closes the worker's connection; resolves when the thread has exited. */
  stop(): Promise<void>
}

interface CheckpointResult {
  /** frames in the WAL */
  log: number
  /** frames copied into the database file */
  checkpointed: number
}

// CommonJS, evaluated in the worker: no build step, and the same file works from src (vitest) and dist.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.file)
db.pragma('busy_timeout = 0')
const checkpoint = () => {
  const [r] = db.pragma('wal_checkpoint(PASSIVE)')
  return { log: r.log, checkpointed: r.checkpointed }
}
const timer = setInterval(() => {
  try { checkpoint() } catch (err) { parentPort.postMessage({ kind: 'error', message: String(err && err.message || err) }) }
}, workerData.intervalMs)
parentPort.on('message', (m) => {
  if (m.kind === 'now') {
    try { parentPort.postMessage({ kind: 'result', id: m.id, result: checkpoint() }) }
    catch (err) { parentPort.postMessage({ kind: 'result', id: m.id, error: String(err && err.message || err) }) }
  } else if (m.kind === 'stop') {
    clearInterval(timer)
    db.close()
    parentPort.close()
  }
})
`

export function startCheckpointer(opts: {
  file: string
  intervalMs: number
  /** the worker failed: the caller turns SQLite's own auto-checkpoint back on so the WAL stays bounded */
  onFailure: (err: Error) => void
}): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3')
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: opts.file, intervalMs: opts.intervalMs, driver } })
  // Never what keeps a process alive.
  worker.unref()

  let nextId = 0
  const waiting = new Map<number, { resolve: (r: CheckpointResult) => void; reject: (e: Error) => void }>()
  let failed = false
  const fail = (err: Error) => {
    for (const w of waiting.values()) w.reject(err)
    waiting.clear()
    if (failed) return
    failed = true
    void worker.terminate()
    opts.onFailure(err)
  }
  let stopping = false
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))

  worker.on('message', (m: { kind: string; id?: number; result?: CheckpointResult; error?: string; message?: string }) => {
    if (m.kind === 'error') return fail(new Error(`WAL checkpoint failed: ${m.message}`))
    const w = waiting.get(m.id!)
    if (!w) return
    waiting.delete(m.id!)
    if (m.error) w.reject(new Error(`WAL checkpoint failed: ${m.error}`))
    else w.resolve(m.result!)
  })
  worker.on('error', (err) => fail(err))
  worker.on('exit', (code) => {
    if (!stopping) fail(new Error(`WAL checkpoint worker exited (code ${code})`))
  })

  return {
    checkpointNow() {
      if (failed) return Promise.reject(new Error('WAL checkpoint worker is not running'))
      const id = nextId++
      return new Promise<CheckpointResult>((resolve, reject) => {
        waiting.set(id, { resolve, reject })
        worker.postMessage({ kind: 'now', id })
      })
    },
    async stop() {
      if (!stopping) {
        stopping = true
        if (!failed) worker.postMessage({ kind: 'stop' })
      }
      await exited
    },
  }
}
