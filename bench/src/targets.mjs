// The servers under test. Each runs as its own node process (no pnpm/npx wrapper), so the pid
// we sample is the process that holds the sockets.
import { existsSync } from 'node:fs'
import { basename, join } from 'node:path'
import pg from 'pg'
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
 * @property {boolean} [memoryVariant] only run where scenario S compares stores (A, B)
 * @property {number} [servers] how many server processes share the work (scenario F's clusters); 1 by default
 * @property {string[]} [onlyIn] only run in these scenarios
 * @property {(dataDir: string) => Promise<void>} [cleanup] removes what the server stored outside its data dir
 * @property {boolean} [optIn] only run when named in --targets
 * @property {boolean} [fixedPort] the server cannot report the port it got from PORT=0
 * @property {(dataDir: string, o: { replay?: boolean, index?: number }) => { script: string, env: Record<string, string> }} command
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
    // Hocuspocus with its compression option, next to tandem-deflate (only when named).
    id: 'hocuspocus-deflate',
    label: 'Hocuspocus 4.7.0 (memory), permessage-deflate',
    role: 'peer',
    proto: 'hp',
    durable: false,
    optIn: true,
    command: () => ({ script: join(BENCH_DIR, 'servers/hocuspocus.mjs'), env: { HP_DEFLATE: '1' } }),
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
  {
    // Scenario G reads rooms cold from PostgreSQL too: the machine's server (BENCH_DATABASE_URL),
    // a schema of its own per run, dropped afterwards.
    id: 'tandem-postgres',
    label: 'Tandem (PostgreSQL)',
    role: 'tandem',
    proto: 'yws',
    durable: true,
    onlyIn: ['F', 'G'],
    command: (dir) => ({ script: TANDEM_MAIN, env: { ...TANDEM_UNLIMITED, DATA_DIR: dir, DATABASE_URL: pgUrl(), PG_SCHEMA: pgSchema(dir) } }),
    cleanup: (dir) => dropSchema(pgSchema(dir)),
  },
  {
    // Scenario C with the same room subscriptions carried `roomsPerConn` (10) to a socket over
    // tandem-mux-v1 (docs/protocol.md "Many rooms over one connection"), next to `tandem` with one
    // socket per subscription: memory per room subscription.
    id: 'tandem-mux',
    label: 'Tandem (SQLite), 10 rooms per socket',
    role: 'tandem',
    proto: 'mux',
    durable: true,
    onlyIn: ['C'],
    command: (dir) => ({ script: TANDEM_MAIN, env: { ...TANDEM_UNLIMITED, DATA_DIR: dir } }),
  },
  {
    // Scenario F: two Tandem servers on one PostgreSQL schema, fanning out over Redis
    // (BENCH_REDIS_URL, a key prefix of their own), each room's clients split between them.
    id: 'tandem-cluster',
    label: 'Tandem × 2 (PostgreSQL + Redis)',
    role: 'tandem',
    proto: 'yws',
    durable: true,
    servers: 2,
    onlyIn: ['F'],
    command: (dir, o) => ({
      script: TANDEM_MAIN,
      env: { ...TANDEM_UNLIMITED, DATA_DIR: join(dir, `s${o.index ?? 0}`), DATABASE_URL: pgUrl(), PG_SCHEMA: pgSchema(dir), REDIS_URL: redisUrl(), REDIS_PREFIX: pgSchema(dir) },
    }),
    cleanup: (dir) => dropSchema(pgSchema(dir)),
  },
  {
    // Scenario F: Hocuspocus' own scale-out, its Redis extension, in the same layout.
    id: 'hocuspocus-redis',
    label: 'Hocuspocus 4.7.0 × 2 (Redis extension)',
    role: 'peer',
    proto: 'hp',
    durable: false,
    servers: 2,
    onlyIn: ['F'],
    command: (dir) => ({ script: join(BENCH_DIR, 'servers/hocuspocus.mjs'), env: { REDIS_URL: redisUrl(), REDIS_PREFIX: pgSchema(dir) } }),
  },
]

const redisUrl = () => process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379'

async function dropSchema (/** @type {string} */ schema) {
  const client = new pg.Client({ connectionString: pgUrl() })
  await client.connect()
  try { await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`) } finally { await client.end() }
}

const pgUrl = () => process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
/** One schema per run, named after the run's data dir (the same across the run's restarts). @param {string} dir */
const pgSchema = (dir) => `bench_${basename(dir).replace(/[^a-z0-9]/gi, '_').toLowerCase()}`

const baselineMain = () => join(process.env.BENCH_BASELINE ?? '', 'apps/server/dist/main.js')

/** Targets whose server can run here (Tandem only once apps/server is built; the baseline only when BENCH_BASELINE names a built checkout). */
export const availableTargets = () =>
  TARGETS.filter((t) => {
    if (t.id === 'tandem-baseline') return !!process.env.BENCH_BASELINE && existsSync(baselineMain())
    return t.role !== 'tandem' || existsSync(TANDEM_MAIN)
  })

/** Same-store pairs scenario S compares: [durable, in-memory]. */
export const STORE_PAIRS = [['tandem', 'tandem-memory'], ['hocuspocus-sqlite', 'hocuspocus']]
