import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { messageTypeName } from '@tandem/sync'

/** A counter per message type that the hot path bumps with one typed-array add. */
export interface TypeCounter {
  add(type: number, n?: number): void
}

/**
 * Per-message-type traffic counters, counted where every frame passes: a prom-client `inc` per
 * frame (a label-hash lookup, a Map write and a timestamp check) costs more than handling a small
 * presence frame. The counts accumulate in a Float64Array and are handed to prom-client when the
 * metric is read (its `collect` hook), so /metrics shows the same totals.
 */
function byType(registry: Registry, name: string, help: string): TypeCounter {
  const pending = new Float64Array(messageTypeName.length)
  let children: ReturnType<Counter<'type'>['labels']>[] = []
  const counter = new Counter({
    name,
    help,
    labelNames: ['type'],
    registers: [registry],
    collect() {
      for (let t = 0; t < pending.length; t++) {
        if (pending[t]! > 0) children[t]!.inc(pending[t])
        pending[t] = 0
      }
    },
  })
  children = messageTypeName.map((t) => counter.labels(t))
  return {
    add(type, n = 1) {
      pending[type]! += n
    },
  }
}

/**
 * One prom-client registry per server instance (no global singleton, so tests can run
 * several servers in one process).
 */
export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })

  const connections = new Gauge({ name: 'tandem_connections', help: 'Open WebSocket connections', registers: [registry] })
  const rooms = new Gauge({ name: 'tandem_rooms', help: 'Rooms loaded in memory', registers: [registry] })
  const messagesIn = byType(registry, 'tandem_messages_in_total', 'Frames received, by message type')
  const messagesOut = byType(registry, 'tandem_messages_out_total', 'Frames sent, by message type')
  const bytesIn = byType(registry, 'tandem_bytes_in_total', 'Bytes received, by message type')
  const bytesOut = byType(registry, 'tandem_bytes_out_total', 'Bytes sent, by message type')
  const updatesStored = new Counter({ name: 'tandem_updates_stored_total', help: 'Document updates committed to the store', registers: [registry] })
  const storeAppendSeconds = new Histogram({
    name: 'tandem_store_append_seconds',
    help: 'Latency of one group commit to the store',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  })
  const storeAppendBatch = new Histogram({
    name: 'tandem_store_append_batch_size',
    help: 'Updates per group commit',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers: [registry],
  })
  const slowConsumerCloses = new Counter({ name: 'tandem_slow_consumer_closes_total', help: 'Connections closed because too many bytes were buffered for them', registers: [registry] })
  const rejectedFrames = new Counter({ name: 'tandem_rejected_frames_total', help: 'Frames that closed their connection, by reason', labelNames: ['reason'], registers: [registry] })
  const rejectedUpgrades = new Counter({ name: 'tandem_rejected_upgrades_total', help: 'WebSocket upgrades refused, by reason', labelNames: ['reason'], registers: [registry] })
  const rejectedConnections = new Counter({ name: 'tandem_rejected_connections_total', help: 'TCP connections closed before their first request was complete: too many half-open from one address, or headers too late', labelNames: ['reason'], registers: [registry] })
  const rejectedRequests = new Counter({ name: 'tandem_rejected_requests_total', help: 'HTTP API requests refused by the token/Origin check or the per-address request rate, by reason', labelNames: ['reason'], registers: [registry] })
  const expiredSessions = new Counter({ name: 'tandem_expired_sessions_total', help: 'Connections closed with 4001 because their token expired', registers: [registry] })
  const quarantinedRows = new Counter({ name: 'tandem_quarantined_rows_total', help: 'Stored rows that failed to load and were moved aside', registers: [registry] })
  const compactions = new Counter({ name: 'tandem_compactions_total', help: 'Update logs folded into a snapshot', registers: [registry] })
  const httpRequests = new Counter({
    name: 'tandem_http_requests_total',
    help: 'HTTP requests answered, by route (healthz, metrics, state, content, updates, rooms, room, revocations, api-other, editor), method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  })
  const roomRebuilds = new Counter({ name: 'tandem_room_rebuilds_total', help: 'Room documents reloaded from the store after Yjs failed part-way through an update or a commit failed', registers: [registry] })

  return {
    registry,
    connections,
    rooms,
    messagesIn,
    messagesOut,
    bytesIn,
    bytesOut,
    updatesStored,
    storeAppendSeconds,
    storeAppendBatch,
    slowConsumerCloses,
    rejectedFrames,
    rejectedUpgrades,
    rejectedRequests,
    rejectedConnections,
    expiredSessions,
    quarantinedRows,
    compactions,
    roomRebuilds,
    httpRequests,
  }
}

export type Metrics = ReturnType<typeof createMetrics>
