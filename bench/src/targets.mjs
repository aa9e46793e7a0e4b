// The servers under test. Each runs as its own node process (no pnpm/npx wrapper), so the pid
// we sample is the process that holds the sockets.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { BENCH_DIR, TANDEM_MAIN } from './paths.mjs'

/**
 * The load generator runs every client from 127.0.0.1 at machine speed: Tandem's per-IP,
 * per-room and per-connection abuse limits (on by default) would refuse it. The peers have none.
 */
const TANDEM_UNLIMITED = {
  MAX_CONNECTIONS_PER_IP: '0',
  MAX_HALF_OPEN_PER_IP: '0',
  MAX_CONNECTIONS_PER_ROOM: '0',
  MAX_ROOMS: '0',
  RATE_LIMIT_MESSAGES_PER_SEC: '0',
  RATE_LIMIT_BYTES_PER_SEC: '0',
  RATE_LIMIT_HANDSHAKES_PER_SEC: '0',
  RATE_LIMIT_API_PER_SEC: '0',
}

/**
 * @typedef {object} Target
 * @property {string} id
 * @property {string} label
 * @property {'relay' | 'peer' | 'tandem'} role
 * @property {import('./wire/protocol.mjs').Proto} proto
 * @property {boolean} durable survives a restart (scenario D's restart wave)
 * @property {boolean} [memoryVariant] only run where scenario F compares stores (A, B)
 * @property {boolean} [optIn] only run when named in --targets
 * @property {boolean} [fixedPort] the server cannot report the port it got from PORT=0
 * @property {(dataDir: string, o: { replay?: boolean }) => { script: string, env: Record<string, string> }} command
 */

/** @type {Target[]} */
export const TARGETS = [
  {
    id: 'relay',
    label: 'ws relay (ceiling)',
    role: 'relay',
    proto: 'relay',
    durable: false,
    command: (_dir, o) => ({ script: join(BENCH_DIR, 'servers/ws-relay.mjs'), env: o.replay ? { RELAY_REPLAY: '1' } : {} }),
  },
  {
    id: 'y-websocket-server',
    label: '@y/websocket-server 0.1.1 (memory)',
    role: 'peer',
    proto: 'yws',
    durable: false,
    fixedPort: true, // its server.js logs the PORT it was given, not the bound one
    command: () => ({ script: join(BENCH_DIR, 'node_modules/@y/websocket-server/src/server.js'), env: {} }),
  },
  {
    id: 'hocuspocus',
    label: 'Hocuspocus 4.7.0 (memory)',
    role: 'peer',
    proto: 'hp',
    durable: false,
    command: () => ({ script: join(BENCH_DIR, 'servers/hocuspocus.mjs'), env: {} }),
  },
  {
    id: 'hocuspocus-sqlite',
    label: 'Hocuspocus 4.7.0 + SQLite',
    role: 'peer',
    proto: 'hp',
    durable: true,
    command: (dir) => ({ script: join(BENCH_DIR, 'servers/hocuspocus.mjs'), env: { SQLITE_PATH: join(dir, 'hocuspocus.sqlite') } }),
  },
  {
    id: 'tandem',
    label: 'Tandem (SQLite)',
    role: 'tandem',
    proto: 'yws',
    durable: true,
    command: (dir) => ({ script: TANDEM_MAIN, env: { ...TANDEM_UNLIMITED, DATA_DIR: dir } }),
  },
  {
    id: 'tandem-memory',
    label: 'Tandem (memory store)',
    role: 'tandem',
    proto: 'yws',
    durable: false,
    memoryVariant: true,
    command: (dir) => ({ script: TANDEM_MAIN, env: { ...TANDEM_UNLIMITED, DATA_DIR: dir, STORE: 'memory' } }),
  },
  {
    // permessage-deflate on (README: WS_COMPRESSION), against `tandem` (off, the default) in the same run:
    // pnpm bench --scenarios A,D --targets tandem,tandem-deflate. Bytes on the wire: A's "wire bytes /
    // delivery", D's "wire KiB / joiner"; server CPU as for every target. Only when named.
    id: 'tandem-deflate',
    label: 'Tandem (SQLite), WS_COMPRESSION=on',
    role: 'tandem',
    proto: 'yws',
    durable: true,
    optIn: true,
    command: (dir) => ({ script: TANDEM_MAIN, env: { ...TANDEM_UNLIMITED, DATA_DIR: dir, WS_COMPRESSION: 'on' } }),
  },
  {
    // Another build of Tandem, to measure a change against what it replaces in the same run:
    // BENCH_BASELINE=/path/to/another/checkout (built) pnpm bench --targets tandem,tandem-baseline
    id: 'tandem-baseline',
    label: 'Tandem (SQLite), baseline build',
    role: 'tandem',
    proto: 'yws',
    durable: true,
    command: (dir) => ({ script: baselineMain(), env: { ...TANDEM_UNLIMITED, DATA_DIR: dir } }),
  },
]

const baselineMain = () => join(process.env.BENCH_BASELINE ?? '', 'apps/server/dist/main.js')

/** Targets whose server can run here (Tandem only once apps/server is built; the baseline only when BENCH_BASELINE names a built checkout). */
export const availableTargets = () =>
  TARGETS.filter((t) => {
    if (t.id === 'tandem-baseline') return !!process.env.BENCH_BASELINE && existsSync(baselineMain())
    return t.role !== 'tandem' || existsSync(TANDEM_MAIN)
  })

/** Same-store pairs scenario F compares: [durable, in-memory]. */
export const STORE_PAIRS = [['tandem', 'tandem-memory'], ['hocuspocus-sqlite', 'hocuspocus']]
