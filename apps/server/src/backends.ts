import type { Registry } from 'prom-client'
import type { Config } from './config.js'
import type { Logger } from './log.js'
import type { DocStore } from './store/types.js'
import { createSqliteStore } from './store/sqlite.js'
import { createMemoryStore } from './store/memory.js'
import { createPostgresStore } from './store/postgres.js'
import { createLocalFanout, type Fanout } from './fanout/types.js'
import { createRedisFanout } from './fanout/redis.js'
import { createFanoutPromMetrics } from './fanout/redis-metrics.js'
import { describeError } from './health/model.js'

/**
 * The only place that chooses implementations: SQLite, PostgreSQL or memory; Redis or none.
 * `metricsRegistry`: where the Redis fan-out registers its counters (the server's /metrics registry).
 */
export async function createBackends(
  config: Config,
  log: Logger,
  opts: { metricsRegistry?: Registry } = {},
): Promise<{ store: DocStore; fanout: Fanout }> {
  let store: DocStore
  switch (config.store) {
    case 'sqlite':
      store = createSqliteStore({
        dataDir: config.dataDir,
        synchronous: config.sqliteSynchronous,
        onCheckpointFailure: (err) => log.error({ err: err.message }, 'sqlite: WAL checkpoints failing; SQLite checkpoints inside commits until they succeed again'),
        onCheckpointRecovery: () => log.info('sqlite: WAL checkpoints succeed again; back to the checkpoint worker'),
        onWriteHealth: writeHealthLog('sqlite', log),
        webhooks: config.webhooks && { urls: config.webhooks.urls },
      })
      break
    case 'memory':
      log.warn('STORE=memory: documents are NOT durable (benchmarks and tests only)')
      store = createMemoryStore()
      break
    case 'postgres':
      // Creates/migrates the schema; a database that cannot be reached fails the start here.
      store = await createPostgresStore({
        url: config.databaseUrl!,
        schema: config.pgSchema,
        poolMax: config.pgPoolMax,
        statementTimeoutMs: config.pgStatementTimeoutMs,
        onError: (err) => log.warn({ err: err.message }, 'postgres: idle connection lost; the pool reconnects'),
        onWriteHealth: writeHealthLog('postgres', log),
        webhooks: config.webhooks && { urls: config.webhooks.urls },
      })
      break
  }
  return { store, fanout: createFanout(config, log, opts) }
}

/** Redis (REDIS_URL) or none; also for an app that brings its own store (index.ts). */
export function createFanout(config: Config, log: Logger, opts: { metricsRegistry?: Registry } = {}): Fanout {
  if (!config.redisUrl) return createLocalFanout()
  // Not awaited: a server starts (and relays locally) while Redis is down; rooms opened before
  // the link is up are resynced from the store once it is (see Fanout.onResync).
  return createRedisFanout({
    url: config.redisUrl,
    prefix: config.redisPrefix,
    heartbeatMs: config.fanoutHeartbeatMs,
    log,
    metrics: opts.metricsRegistry ? createFanoutPromMetrics(opts.metricsRegistry) : undefined,
  })
}

/** One line per transition of a store's writes (each failed append is logged by the committer too). */
function writeHealthLog(store: string, log: Logger) {
  return (failure: Error | undefined) => {
    if (failure) log.error({ err: describeError(failure) }, `${store}: writes failing; /healthz reports the store down (503) until one succeeds`)
    else log.info(`${store}: writes succeed again`)
  }
}
