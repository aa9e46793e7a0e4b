import type { Config } from '../config.js'
import type { DocStore } from '../store/types.js'
import type { VersionStore } from '../store/versions.js'
import type { Fanout } from '../fanout/types.js'
import type { Logger } from '../log.js'
import type { RoomRegistry } from '../room/registry.js'
import { createHistory, type History } from './history.js'

/** The server's version history from its configuration (server.ts). `rooms`: the registry, once it exists. */
export function createServerHistory(deps: {
  config: Config
  store: DocStore
  versions: VersionStore
  fanout: Fanout
  log: Logger
  rooms: () => RoomRegistry
}): History {
  const { config } = deps
  return createHistory({
    versions: deps.versions,
    store: deps.store,
    log: deps.log,
    shared: deps.fanout.kind !== 'local',
    quietMs: config.historyQuietMs,
    maxIntervalMs: config.historyMaxIntervalMs,
    retention: { keepAllMs: config.historyKeepAllMs, hourlyMs: config.historyHourlyMs },
    acquire: (name) => deps.rooms().acquire(name),
    release: (room) => deps.rooms().release(room as Parameters<RoomRegistry['release']>[0]),
  })
}
