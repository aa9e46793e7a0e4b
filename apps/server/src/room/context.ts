import type { Config } from '../config.js'
import type { Committer } from '../update/commit.js'
import type { DocStore } from '../store/types.js'
import type { Fanout } from '../fanout/types.js'
import type { Metrics } from '../metrics.js'
import type { Logger } from '../log.js'
import type { History } from '../history/history.js'

/** Everything a room needs from the server, passed down explicitly (no module singletons). */
export interface RoomContext {
  config: Config
  store: DocStore
  fanout: Fanout
  committer: Committer
  metrics: Metrics
  log: Logger
  /** version history: told of every stored row (absent: none kept) */
  history?: Pick<History, 'edited' | 'touched'>
}
