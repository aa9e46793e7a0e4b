/**
 * The health model behind GET /healthz, for whatever acts on it (a load balancer, an orchestrator,
 * an operator). Two components, each `ok` or `down` with a stable reason code:
 *
 *   store   down = this server cannot store writes: the database does not answer (`unreachable`),
 *           or writes are being refused (`writes-failing`: disk full, I/O error, read-only).
 *           Nothing is relayed before it is stored, so a server in this state serves no edits.
 *   fanout  down = edits do not reach the other servers: a Redis link is not connected
 *           (`disconnected`), or both are but nothing comes back through Redis (`stalled`:
 *           paused, overloaded, partitioned). Edits are still stored and relayed to the clients
 *           of this server; the other servers read them from the store once the fan-out is back.
 *
 * Overall: store down → `down` (503, take it out of rotation); only the fan-out down → `degraded`
 * (200: keep it in rotation, it serves every room it holds); else `ok` (200). The fan-out does not
 * make a server 503 on purpose: a Redis outage hits every server at once, and 503 from all of them
 * would turn "edits reach other servers late" into "nobody can edit".
 */
type ComponentState = 'ok' | 'down'
export type ServerStatus = 'ok' | 'degraded' | 'down'

/** What a store's or fan-out's health() returns. */
export interface ComponentHealth {
  ok: boolean
  /** when not ok: a stable code (StoreReason, FanoutReason) */
  reason?: string
  /** for humans: the error, the link states */
  detail?: string
}

export const StoreReason = {
  /** the database does not answer a trivial query in time (or at all) */
  Unreachable: 'unreachable',
  /** the last write failed and a probe write since then failed too */
  WritesFailing: 'writes-failing',
} as const

export const FanoutReason = {
  /** a Redis link (subscriber or publisher) is not connected; it is reconnecting */
  Disconnected: 'disconnected',
  /** both links are connected, but a probe published through Redis did not come back in time */
  Stalled: 'stalled',
} as const

/** One component as /healthz shows it. `ok` is `state === 'ok'` (kept for existing checks). */
export interface ComponentReport {
  kind: string
  state: ComponentState
  ok: boolean
  reason?: string
  detail?: string
}

export function componentReport(kind: string, h: ComponentHealth): ComponentReport {
  const report: ComponentReport = { kind, state: h.ok ? 'ok' : 'down', ok: h.ok }
  if (!h.ok) report.reason = h.reason ?? 'unknown'
  if (h.detail) report.detail = h.detail
  return report
}

export function serverStatus(store: ComponentHealth, fanout: ComponentHealth): ServerStatus {
  return !store.ok ? 'down' : !fanout.ok ? 'degraded' : 'ok'
}

/** 503 only when the server cannot store writes; `degraded` still serves (see above). */
export const httpStatusOf = (status: ServerStatus): number => (status === 'down' ? 503 : 200)

/** Rejects with "no answer within N ms" when `p` takes longer (p itself keeps running). */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/** An error as a reason's detail: the driver's code first when it has one (SQLITE_FULL, 53100). */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' && code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message
}
