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
  /**
   * Why the worker's checkpoints are failing right now (a full disk, an I/O error, the worker
   * restarting after a crash); undefined while they succeed.
   */
  readonly failure: Error | undefined
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
// A failing checkpoint does not end the worker: it keeps trying on its timer (a full disk gets
// space back), and reports transitions only, one 'failing' and then one 'recovered', not one
// message per interval.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.file)
db.pragma('busy_timeout = 0')
let failing = workerData.failing
const checkpoint = () => {
  let r
  try {
    [r] = db.pragma('wal_checkpoint(PASSIVE)')
  } catch (err) {
    if (!failing) parentPort.postMessage({ kind: 'failing', message: String(err && err.message || err), code: err && err.code })
    failing = true
    throw err
  }
  if (failing) parentPort.postMessage({ kind: 'recovered' })
  failing = false
  return { log: r.log, checkpointed: r.checkpointed }
}
const timer = setInterval(() => {
  try { checkpoint() } catch {}
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

/** A crashed worker (it could not even open the file) is started again after this, doubling up to the cap. */
const RESTART_MIN_MS = 1_000
const RESTART_MAX_MS = 60_000

type WorkerMessage =
  | { kind: 'failing'; message: string; code?: string }
  | { kind: 'recovered' }
  | { kind: 'result'; id: number; result?: CheckpointResult; error?: string }

export function startCheckpointer(opts: {
  file: string
  intervalMs: number
  /** checkpoints started failing: the caller turns SQLite's own auto-checkpoint back on so the WAL stays bounded */
  onFailure: (err: Error) => void
  /** the first checkpoint after a failure succeeded: the caller hands the bulk of the copying back to the worker */
  onRecovery: () => void
}): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3')
  let worker: Worker | undefined
  let failure: Error | undefined
  let stopping = false
  let restartTimer: NodeJS.Timeout | undefined
  let restartDelay = RESTART_MIN_MS
  let exited: Promise<void> = Promise.resolve()
  let nextId = 0
  const waiting = new Map<number, { resolve: (r: CheckpointResult) => void; reject: (e: Error) => void }>()

  const failing = (err: Error) => {
    const first = failure === undefined
    failure = err
    if (first) opts.onFailure(err)
  }
  const recovered = () => {
    restartDelay = RESTART_MIN_MS
    if (failure === undefined) return
    failure = undefined
    opts.onRecovery()
  }

  function spawn(): void {
    restartTimer = undefined
    // A replacement starts as failing, so its first successful checkpoint reports the recovery.
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: opts.file, intervalMs: opts.intervalMs, driver, failing: failure !== undefined } })
    // Never what keeps a process alive.
    w.unref()
    worker = w
    exited = new Promise<void>((resolve) => w.once('exit', () => resolve()))
    w.on('message', (m: WorkerMessage) => {
      if (m.kind === 'failing') {
        const err = new Error(`WAL checkpoint failed: ${m.message}`)
        if (m.code) Object.assign(err, { code: m.code })
        return failing(err)
      }
      if (m.kind === 'recovered') return recovered()
      const pending = waiting.get(m.id)
      if (!pending) return
      waiting.delete(m.id)
      if (m.error) pending.reject(new Error(`WAL checkpoint failed: ${m.error}`))
      else pending.resolve(m.result!)
    })
    const gone = (err: Error) => {
      if (worker !== w) return
      worker = undefined
      for (const pending of waiting.values()) pending.reject(err)
      waiting.clear()
      void w.terminate()
      if (stopping) return
      failing(err)
      restartTimer = setTimeout(spawn, restartDelay)
      restartTimer.unref()
      restartDelay = Math.min(restartDelay * 2, RESTART_MAX_MS)
    }
    w.on('error', (err) => gone(err))
    w.on('exit', (code) => gone(new Error(`WAL checkpoint worker exited (code ${code})`)))
  }
  spawn()

  return {
    get failure() {
      return failure
    },
    checkpointNow() {
      const w = worker
      if (!w) return Promise.reject(new Error('WAL checkpoint worker is not running (restarting)'))
      const id = nextId++
      return new Promise<CheckpointResult>((resolve, reject) => {
        waiting.set(id, { resolve, reject })
        w.postMessage({ kind: 'now', id })
      })
    },
    async stop() {
      if (!stopping) {
        stopping = true
        clearTimeout(restartTimer)
        worker?.postMessage({ kind: 'stop' })
      }
      await exited
    },
  }
}
