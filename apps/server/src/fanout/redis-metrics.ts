import { Counter, Histogram, type Registry } from 'prom-client'
import type { FanoutMetrics } from './redis-options.js'

/**
 * prom-client counters for the Redis fan-out, registered in the server's registry (GET /metrics).
 * Label children are bound once: `labels()` hashes its arguments on every call.
 */
export function createFanoutPromMetrics(registry: Registry): FanoutMetrics {
  const published = new Counter({
    name: 'tandem_fanout_published_total',
    help: 'Messages this server published to other servers (acknowledged by Redis), by kind',
    labelNames: ['kind'],
    registers: [registry],
  })
  const received = new Counter({
    name: 'tandem_fanout_received_total',
    help: 'Messages from other servers delivered to a room here, by kind',
    labelNames: ['kind'],
    registers: [registry],
  })
  const lag = new Histogram({
    name: 'tandem_fanout_lag_seconds',
    help: 'Publish-to-receive delay of fan-out messages (sender clock vs receiver clock)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  })
  const dropped = new Counter({
    name: 'tandem_fanout_dropped_total',
    help: 'Fan-out messages lost on this server (queue full while Redis was down, failed publish, malformed input), by reason',
    labelNames: ['reason'],
    registers: [registry],
  })
  const reconnects = new Counter({
    name: 'tandem_fanout_reconnects_total',
    help: 'Redis links re-established after a loss, by link',
    labelNames: ['link'],
    registers: [registry],
  })
  const resyncs = new Counter({
    name: 'tandem_fanout_resync_rooms_total',
    help: 'Rooms caught up from the store because fan-out messages may have been missed, by cause',
    labelNames: ['reason'],
    registers: [registry],
  })
  const peersGone = new Counter({
    name: 'tandem_fanout_peers_gone_total',
    help: 'Peer servers declared gone (heartbeat silence or goodbye)',
    registers: [registry],
  })
  const pub = { update: published.labels('update'), awareness: published.labels('awareness'), deleted: published.labels('deleted') }
  const recv = { update: received.labels('update'), awareness: received.labels('awareness'), deleted: received.labels('deleted') }
  return {
    published: (kind) => pub[kind].inc(),
    received: (kind, lagSeconds) => {
      recv[kind].inc()
      lag.observe(lagSeconds)
    },
    dropped: (reason) => dropped.labels(reason).inc(),
    reconnected: (link) => reconnects.labels(link).inc(),
    resync: (reason, rooms) => resyncs.labels(reason).inc(rooms),
    peerGone: () => peersGone.inc(),
  }
}
