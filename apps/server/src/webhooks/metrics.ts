import { Counter, Gauge, type Registry } from 'prom-client'

/** The webhook counters in the server's /metrics registry (README "Webhooks" › Metrics). */
export function createWebhookMetrics(registry: Registry, depth: () => Promise<number>) {
  return {
    sent: new Counter({ name: 'tandem_webhooks_sent_total', help: 'Webhook deliveries a receiver accepted (2xx)', registers: [registry] }),
    retried: new Counter({
      name: 'tandem_webhooks_retried_total',
      help: 'Webhook delivery attempts that failed and will be tried again (after a backoff)',
      registers: [registry],
    }),
    failed: new Counter({
      name: 'tandem_webhooks_failed_total',
      help: 'Webhook events given up on after WEBHOOK_MAX_ATTEMPTS attempts (kept as dead in the outbox)',
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'tandem_webhooks_queue_depth',
      help: 'Webhook deliveries waiting in the outbox (all servers sharing the store; dead ones not counted)',
      registers: [registry],
      async collect() {
        // A store that cannot answer leaves the last value: /metrics must not fail with it.
        try {
          this.set(await depth())
        } catch {
          /* the dispatcher logs the store's failures */
        }
      },
    }),
  }
}

