import { Worker } from 'node:worker_threads'
import type { Format, InputFormat } from './format-names.js'
import type { PlanResult, ReadResult } from './convert.js'

export type Job =
  | { id: number; op: 'read'; state: Uint8Array; format: Format; ifNoneMatch: '*' | string[] | undefined }
  | { id: number; op: 'plan'; state: Uint8Array; body: string; format: InputFormat; mode: 'replace' | 'append' }
  | { id: number; op: 'restore'; state: Uint8Array; version: Uint8Array }
/** A job as its caller gives it (the converter numbers it). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
type JobInput = DistributiveOmit<Job, 'id'>
export type JobResult = { id: number; ok: ReadResult | PlanResult; error?: undefined } | { id: number; error: string; ok?: undefined }

/** A job that did not finish in time (its thread was stopped) or could not be queued. */
export class ConversionUnavailable extends Error {
  override readonly name = 'ConversionUnavailable'
}

export interface ConverterOptions {
  /** a job running longer is stopped with its thread (a new thread takes the next job) */
  timeoutMs: number
  /** jobs waiting at most; more are refused at once */
  maxQueued: number
}

/**
 * Runs the content API's conversions (convert.ts) in ONE worker thread, one job at a time: a
 * Markdown body of MAX_PAYLOAD_BYTES or a 64 MiB document costs seconds of CPU, and on the event
 * loop every room of the server would wait for it. Bounded: jobs queue up to `maxQueued`, a job
 * runs at most `timeoutMs` (then the thread is terminated and restarted on the next job). The
 * thread starts on the first job (it loads Tiptap, happy-dom and marked: ~0.7 s, ~40 MB).
 */
export function createConverter(opts: ConverterOptions) {
  let worker: Worker | undefined
  /** the thread finished loading (jobs are timed from then on) */
  let ready = false
  let nextId = 1
  let running: { job: Job; resolve: (r: JobResult) => void; timer: NodeJS.Timeout } | undefined
  const queue: Array<{ job: Job; resolve: (r: JobResult) => void }> = []
  let closed = false

  function start(): Worker {
    // Under the test runner the sources are TypeScript: the thread loads them through tsx.
    const ts = import.meta.url.endsWith('.ts')
    const w = new Worker(new URL(ts ? './worker-tsx.mjs' : './worker.js', import.meta.url))
    w.unref()
    w.on('message', (r: JobResult | { ready: true }) => {
      if ('ready' in r) {
        if (worker === w) ready = true
        return pump()
      }
      if (!running || running.job.id !== r.id) return
      finish(r)
    })
    const died = (why: string) => {
      if (worker !== w) return
      worker = undefined
      ready = false
      if (running) finish({ id: running.job.id, error: why })
      // Died while loading: what waits fails now (the next job starts a fresh thread).
      else for (const q of queue.splice(0)) q.resolve({ id: q.job.id, error: why })
    }
    w.on('error', (err) => died(err.message))
    w.on('exit', (code) => died(`the conversion thread exited (${code})`))
    return w
  }

  function finish(r: JobResult): void {
    const done = running
    if (!done) return
    clearTimeout(done.timer)
    running = undefined
    done.resolve(r)
    pump()
  }

  function pump(): void {
    if (running || closed || queue.length === 0) return
    const w = (worker ??= start())
    if (!ready) return // the 'ready' message pumps again
    const next = queue.shift()!
    const timer = setTimeout(() => {
      // The thread is busy with it: stopping the thread is the only way to stop the job.
      worker = undefined
      ready = false
      void w.terminate()
      finish({ id: next.job.id, error: `timeout: the conversion took longer than ${opts.timeoutMs} ms` })
    }, opts.timeoutMs)
    running = { ...next, timer }
    w.postMessage(next.job)
  }

  function run(job: JobInput): Promise<ReadResult | PlanResult> {
    if (closed) return Promise.reject(new ConversionUnavailable('the server is closing'))
    if (queue.length >= opts.maxQueued) return Promise.reject(new ConversionUnavailable(`${queue.length} conversions are waiting; retry later`))
    return new Promise<JobResult>((resolve) => {
      queue.push({ job: { ...job, id: nextId++ }, resolve })
      pump()
    }).then((r) => {
      if (r.error !== undefined) throw new ConversionUnavailable(r.error)
      return r.ok
    })
  }

  return {
    read: (state: Uint8Array, format: Format, ifNoneMatch: '*' | string[] | undefined) => run({ op: 'read', state, format, ifNoneMatch }) as Promise<ReadResult>,
    plan: (state: Uint8Array, body: string, format: InputFormat, mode: 'replace' | 'append') => run({ op: 'plan', state, body, format, mode }) as Promise<PlanResult>,
    /** the update that turns `state` into the document `version` holds (version history) */
    restore: (state: Uint8Array, version: Uint8Array) => run({ op: 'restore', state, version }) as Promise<PlanResult>,
    async close(): Promise<void> {
      closed = true
      for (const q of queue.splice(0)) q.resolve({ id: q.job.id, error: 'the server is closing' })
      if (running) finish({ id: running.job.id, error: 'the server is closing' })
      await worker?.terminate()
      worker = undefined
      ready = false
    },
  }
}

export type Converter = ReturnType<typeof createConverter>
