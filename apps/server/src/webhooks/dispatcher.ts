import type { Registry } from 'prom-client'
import type { Logger } from '../log.js'
import type { OutboxDelivery, WebhookOutbox } from '../store/outbox.js'
import type { WebhookConfig } from './config.js'
import { createDeliverer } from './delivery.js'
import { createWebhookMetrics } from './metrics.js'
import { deliveryHeaders } from './signing.js'

/**
 * The webhook dispatcher: a loop of its own, apart from the update path (the relay never waits
 * for it; the store wrote the events with the changes). Each turn it
 *   1. promotes the rooms' change rows that are due into `document.changed` events (debounce:
 *      WEBHOOK_DEBOUNCE_MS quiet, or WEBHOOK_MAX_WAIT_MS since the first change),
 *   2. claims (leases) due deliveries, at most MAX_IN_FLIGHT at once, the oldest per room and
 *      receiver only (a room's events arrive in order), and
 *   3. posts them; 2xx deletes the row, a failure schedules a retry (exponential backoff with
 *      jitter), the WEBHOOK_MAX_ATTEMPTS-th failure keeps it as dead (metric + error log).
 * A delivery that ends wakes the loop at once (the room's next event is due); otherwise it polls.
 */

/** Deliveries in flight per server: bounds sockets and memory whatever the backlog. */
const MAX_IN_FLIGHT = 16
/** Longest pause between turns (an idle server polls the store this often). */
const MAX_POLL_MS = 1_000
/** Shortest: short debounce settings (tests) are still honoured without spinning. */
const MIN_POLL_MS = 10

/** Retry after this long: exponential from 1 s, capped at 10 min, with jitter (half to all of it). */
export function backoffMs(attempts: number, random: number = Math.random()): number {
  const base = Math.min(1_000 * 2 ** Math.max(0, attempts - 1), 600_000)
  return Math.round(base * (0.5 + random / 2))
}

export interface WebhookDispatcher {
  close(): Promise<void>
}

export function startWebhookDispatcher(opts: {
  config: WebhookConfig
  outbox: WebhookOutbox
  registry: Registry
  log: Logger
  now?: () => number
}): WebhookDispatcher {
  const { config, outbox, log } = opts
  const now = opts.now ?? Date.now
  const metrics = createWebhookMetrics(opts.registry, () => outbox.depth(config.urls))
  const deliverer = createDeliverer(MAX_IN_FLIGHT)
  const pollMs = Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, Math.floor(Math.min(config.debounceMs || MAX_POLL_MS, config.maxWaitMs) / 4)))
  // A lease outlives the longest attempt: nobody else takes a delivery still in flight.
  const leaseMs = config.timeoutMs + 2_000
  const inFlight = new Set<Promise<void>>()
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  let again = false
  let closed = false
  let storeFailing = false

  const schedule = (ms: number) => {
    if (closed) return
    clearTimeout(timer)
    timer = setTimeout(turn, ms)
    timer.unref()
  }

  function turn(): void {
    if (closed) return
    if (running) {
      again = true
      return
    }
    running = step()
      .then(
        () => {
          if (storeFailing) log.info('webhooks: the outbox is reachable again')
          storeFailing = false
        },
        (err: unknown) => {
          if (!storeFailing) log.error({ err: (err as Error).message }, 'webhooks: outbox query failed; retrying every poll')
          storeFailing = true
        },
      )
      .finally(() => {
        running = undefined
        if (again) {
          again = false
          schedule(0)
        } else schedule(pollMs)
      })
  }

  async function step(): Promise<void> {
    await outbox.promote(now(), config.debounceMs, config.maxWaitMs)
    const room = MAX_IN_FLIGHT - inFlight.size
    if (room <= 0) return
    for (const d of await outbox.claim(now(), leaseMs, room, config.urls)) {
      const p = deliver(d).catch((err: unknown) => log.error({ err: (err as Error).message, event: d.eventId }, 'webhooks: recording a delivery failed'))
      inFlight.add(p)
      void p.finally(() => {
        inFlight.delete(p)
        // The room's next event may be due now: no need to wait for the poll.
        turn()
      })
    }
  }

  async function deliver(d: OutboxDelivery): Promise<void> {
    const result = await deliverer.post(d.url, deliveryHeaders(config.secret, d, d.body, now()), d.body, config.timeoutMs)
    if (closed) {
      // Cut off by close(): due again at once for whoever runs next (this attempt still counts).
      await outbox.retry(d.id, now(), 'server shut down mid-delivery').catch(() => {})
      return
    }
    if (result.ok) {
      await outbox.delivered(d.id)
      metrics.sent.inc()
      return
    }
    if (d.attempts >= config.maxAttempts) {
      await outbox.dead(d.id, result.error)
      metrics.failed.inc()
      log.error({ event: d.eventId, type: d.type, room: d.room, url: d.url, attempts: d.attempts, err: result.error }, 'webhooks: delivery failed for the last time; kept as dead in the outbox')
      return
    }
    const delay = backoffMs(d.attempts)
    await outbox.retry(d.id, now() + delay, result.error)
    metrics.retried.inc()
    log.warn({ event: d.eventId, type: d.type, room: d.room, url: d.url, attempts: d.attempts, retryInMs: delay, err: result.error }, 'webhooks: delivery failed; will retry')
  }

  schedule(0)
  log.info({ receivers: config.urls.length, debounceMs: config.debounceMs, maxWaitMs: config.maxWaitMs }, 'webhooks: dispatcher started')

  return {
    async close() {
      closed = true
      clearTimeout(timer)
      await running
      // Deliveries in flight are cut off: their rows stay leased and are sent again later (at least once).
      deliverer.close()
      await Promise.allSettled([...inFlight])
    },
  }
}
