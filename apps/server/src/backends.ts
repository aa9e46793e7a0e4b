import type { Config } from './config.js'
import type { Logger } from './log.js'
import type { DocStore } from './store/types.js'
import { createSqliteStore } from './store/sqlite.js'
import { createMemoryStore } from './store/memory.js'
import { createLocalFanout, type Fanout } from './fanout/types.js'

/** The only place that chooses implementations: SQLite, PostgreSQL or memory; Redis or none. */
export async function createBackends(config: Config, log: Logger): Promise<{ store: DocStore; fanout: Fanout }> {
  let store: DocStore
  switch (config.store) {
    case 'sqlite':
      store = createSqliteStore({ dataDir: config.dataDir, synchronous: config.sqliteSynchronous })
      break
    case 'memory':
      log.warn('STORE=memory: documents are NOT durable (benchmarks and tests only)')
      store = createMemoryStore()
      break
    case 'postgres':
      throw new Error('PostgreSQL store: not implemented yet')
  }
  let fanout: Fanout = createLocalFanout()
  if (config.redisUrl) throw new Error('Redis fan-out: not implemented yet')
  return { store, fanout }
}
