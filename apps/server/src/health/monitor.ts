import type { Logger } from '../log.js'
import { StoreReason, componentReport, describeError, httpStatusOf, serverStatus, type ComponentHealth, type ComponentReport, type ServerStatus } from './model.js'

/** Anything with a health probe: a DocStore, a Fanout. */
export interface HealthSource {
  readonly kind: string
  health(): Promise<ComponentHealth>
}

export interface HealthReport {
  status: ServerStatus
  httpStatus: number
  store: ComponentReport
  fanout: ComponentReport
}

/**
 * Asks the store and the fan-out, and logs when the overall status changes (once per
 * transition, not per request). The components log their own transitions as they happen
 * (a write failing, Redis stalling); this line is what the load balancer was told.
 */
export function createHealthMonitor(deps: { store: HealthSource; fanout: HealthSource; log: Pick<Logger, 'info' | 'warn'> }) {
  /** what the previous check answered; 'starting' before the first one (which logs only if not ok) */
  let last: ServerStatus | 'starting' = 'starting'

  const ask = (source: HealthSource, reasonIfThrown: string): Promise<ComponentHealth> =>
    source.health().catch((err: unknown) => ({ ok: false, reason: reasonIfThrown, detail: describeError(err) }))

  return {
    async check(): Promise<HealthReport> {
      const [store, fanout] = await Promise.all([ask(deps.store, StoreReason.Unreachable), ask(deps.fanout, 'probe-failed')])
      const status = serverStatus(store, fanout)
      const report: HealthReport = {
        status,
        httpStatus: httpStatusOf(status),
        store: componentReport(deps.store.kind, store),
        fanout: componentReport(deps.fanout.kind, fanout),
      }
      if (status !== last && !(last === 'starting' && status === 'ok')) {
        const fields = { from: last, to: status, httpStatus: report.httpStatus, store: report.store, fanout: report.fanout }
        if (status === 'ok') deps.log.info(fields, `health: ${last} → ok`)
        else deps.log.warn(fields, `health: ${last} → ${status}`)
      }
      last = status
      return report
    },
  }
}
