import { StoreReason, describeError, withTimeout, type ComponentHealth } from './model.js'

/**
 * A store's last write outcome, for /healthz. A read such as `SELECT 1` says nothing about
 * writes: a full disk, an I/O error or a read-only database still answer it. So a failed write
 * marks the store failing until a later write succeeds or a probe write does.
 *
 * The probe runs when /healthz asks while the store is failing: without it, a server that a load
 * balancer took out of rotation would get no writes, and so would never be seen to recover.
 * At most one probe runs at a time and at most one per `minProbeIntervalMs` (the endpoint is
 * unauthenticated: polling it must not turn into a write load).
 */
export interface WriteHealth {
  succeeded(): void
  failed(err: unknown): void
  /** ok, or `writes-failing` with the last error; probes first when one is due */
  check(): Promise<ComponentHealth>
}

export function createWriteHealth(opts: {
  /** a small committed (or rolled-back, where that reaches the disk) write like the store's own */
  probe: () => Promise<void>
  /** how long check() waits for a probe; it keeps running and the next check reuses it */
  probeTimeoutMs: number
  minProbeIntervalMs?: number
  /** transitions only: an Error when writes start failing, undefined when they succeed again */
  onChange?: (failure: Error | undefined) => void
}): WriteHealth {
  const minInterval = opts.minProbeIntervalMs ?? 1_000
  let failure: Error | undefined
  let probing: Promise<void> | undefined
  let lastProbeAt = -Infinity

  const set = (next: Error | undefined) => {
    const changed = (failure === undefined) !== (next === undefined)
    failure = next
    if (changed) opts.onChange?.(next)
  }
  const asError = (err: unknown) => (err instanceof Error ? err : new Error(String(err)))

  return {
    succeeded: () => {
      if (failure) set(undefined)
    },
    failed: (err) => set(asError(err)),
    async check() {
      if (!failure) return { ok: true }
      if (!probing && performance.now() - lastProbeAt >= minInterval) {
        lastProbeAt = performance.now()
        probing = opts
          .probe()
          .then(
            () => set(undefined),
            // Still failing; the probe's error is the fresher description.
            (err) => failure && set(asError(err)),
          )
          .finally(() => (probing = undefined))
      }
      if (probing) await withTimeout(probing, opts.probeTimeoutMs).catch(() => {})
      return failure ? { ok: false, reason: StoreReason.WritesFailing, detail: describeError(failure) } : { ok: true }
    },
  }
}
