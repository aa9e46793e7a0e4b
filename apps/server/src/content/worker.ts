import { parentPort } from 'node:worker_threads'
import { matchesAny, planContent, planRestore, readContent } from './convert.js'
import type { Job, JobResult } from './converter.js'

/**
 * The content conversion thread (converter.ts starts it): one job at a time, answered by id.
 * Everything a job needs comes in its message; nothing is shared with the server's thread.
 */
const port = parentPort
if (!port) throw new Error('content/worker.ts runs as a worker thread (content/converter.ts)')

port.on('message', (job: Job) => {
  let answer: JobResult
  try {
    answer =
      job.op === 'read'
        ? { id: job.id, ok: readContent(job.state, job.format, (etag) => matchesAny(job.ifNoneMatch, etag)) }
        : job.op === 'plan'
          ? { id: job.id, ok: planContent(job.state, job.body, job.format, job.mode) }
          : { id: job.id, ok: planRestore(job.state, job.version) }
  } catch (err) {
    answer = { id: job.id, error: err instanceof Error ? err.message : String(err) }
  }
  port.postMessage(answer)
})
// Loaded (the conversion libraries with it): jobs are timed from here on, not from the thread's start.
port.postMessage({ ready: true })
