import * as Y from 'yjs'
import { CloseCode } from '@tandem/sync'
import type { Logger } from '../log.js'
import type { Metrics } from '../metrics.js'
import { API_ORIGIN } from '../room/tx-origins.js'
import type { UpdateSender } from './commit.js'
import { IntegrationFailed, integrate, type PendingParts } from './integrate.js'
import { PendingBuffer, type Parked } from './pending.js'

/** Parts per room, and retries without full progress before a part is dropped. */
const MAX_PARTS = 64
const MAX_RETRIES = 8

/** What one retry integrated. */
export interface Retried {
  rows: Uint8Array[]
  /** messages whose parked parts are all integrated now: acknowledge them once `rows` are stored */
  resolved: Array<{ from: UpdateSender; message: number }>
  failed: boolean
}

/** The stored row holds these messages' last parked parts: their "saved" holds go. */
export function releaseResolved(resolved: Retried['resolved']): void {
  for (const r of resolved) r.from.acks?.release(r.message)
}

export interface ParkedDeps {
  room: string
  maxPendingBytes: number
  pendingTimeoutMs: number
  maxNestingDepth: number
  metrics: Metrics
  log: Logger
}

/**
 * A room's parked update parts (what Yjs could not integrate yet: see pending.ts for the
 * buffer and why it is bounded) with what happens to them: parked with the sender's "saved"
 * acknowledgement held, retried only when the document gained what they wait for, dropped with
 * the sender closed (4002) when over budget or too old. One timer per room, only while anything
 * is parked. Ages are on the monotonic clock (performance.now()): a wall-clock jump neither drops
 * fresh parts nor keeps old ones.
 */
export class ParkedParts {
  private readonly buffer: PendingBuffer<UpdateSender>
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly deps: ParkedDeps) {
    this.buffer = new PendingBuffer({ maxBytes: deps.maxPendingBytes, maxParts: MAX_PARTS, timeoutMs: deps.pendingTimeoutMs })
  }

  get size(): number {
    return this.buffer.size
  }

  /** Parks `parts` of message `message` from `from`; false when over budget (the sender is closed). */
  park(parts: PendingParts, from: UpdateSender | undefined, message: number, retries = 0): boolean {
    if (!this.buffer.park(parts, from, message, performance.now(), retries)) {
      this.deps.metrics.rejectedFrames.labels('pending-over-budget').inc()
      from?.close(CloseCode.PendingUnresolved, 'pending-over-budget')
      return false
    }
    if (retries === 0) from?.acks?.hold(message)
    this.arm()
    return true
  }

  /**
   * Integrates the parts that can make progress now into `doc`; returns what they added (to be
   * stored), the messages whose last parked part integrated (their "saved" holds are released
   * once that row is stored: `release`), and whether Yjs threw part-way (the document must be
   * rebuilt).
   */
  retry(doc: Y.Doc): Retried {
    const out: Retried = { rows: [], resolved: [], failed: false }
    for (const p of this.buffer.takeReady(doc.store)) {
      if (this.retryOne(doc, p, out) === 'failed') out.failed = true
    }
    return out
  }

  private retryOne(doc: Y.Doc, p: Parked<UpdateSender>, out: Retried): 'ok' | 'failed' {
    const rows = out.rows
    const again: PendingParts = { structs: null, ds: null }
    for (const part of [p.parts.structs?.update, p.parts.ds]) {
      if (!part) continue
      try {
        const r = integrate(doc, part, p.origin?.txOrigin ?? API_ORIGIN, { maxNestingDepth: this.deps.maxNestingDepth, hasTypes: true, v2: true })
        if (r.pending === undefined) {
          rows.push(Y.convertUpdateFormatV2ToV1(part))
          continue
        }
        if (r.integrated) rows.push(r.integrated)
        if (r.pending.structs) again.structs = r.pending.structs
        if (r.pending.ds) again.ds = r.pending.ds
      } catch (err) {
        p.origin?.close(CloseCode.InvalidPayload, 'invalid-update')
        return err instanceof IntegrationFailed ? 'failed' : 'ok'
      }
    }
    if (!again.structs && !again.ds) {
      if (p.origin?.acks) out.resolved.push({ from: p.origin, message: p.ack })
    }
    else if (p.retries + 1 >= MAX_RETRIES) p.origin?.close(CloseCode.PendingUnresolved, 'pending-unresolved')
    else this.park(again, p.origin, p.ack, p.retries + 1)
    return 'ok'
  }

  private arm(): void {
    if (this.timer || this.buffer.size === 0) return
    const due = this.buffer.nextExpiry()
    if (due === undefined) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      for (const p of this.buffer.takeExpired(performance.now())) {
        this.deps.metrics.rejectedFrames.labels('pending-unresolved').inc()
        this.deps.log.info({ room: this.deps.room, bytes: p.bytes }, 'dropped an update part whose dependencies never arrived')
        p.origin?.close(CloseCode.PendingUnresolved, 'pending-unresolved')
      }
      this.arm()
    }, Math.max(0, due - performance.now()))
    this.timer.unref()
  }

  destroy(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.buffer.clear()
  }
}
