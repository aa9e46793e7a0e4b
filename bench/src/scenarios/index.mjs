// Scenario registry: what each measures and how its columns read.
import { runA, runB } from './fanout.mjs'
import { runC } from './capacity.mjs'
import { runD } from './large-doc.mjs'
import { runE } from './presence.mjs'
import { runG } from './cold.mjs'
import { runF } from './cluster.mjs'

/**
 * @typedef {object} Metric
 * @property {string} key
 * @property {string} label
 * @property {'higher' | 'lower' | null} better null = informational
 * @property {boolean} [ratio] show × relay and × best peer columns
 * @property {number} [digits]
 */

/**
 * @typedef {object} Scenario
 * @property {string} id
 * @property {string} title
 * @property {(p: any) => string} describe
 * @property {(ctx: import('./rig.mjs').RunContext) => Promise<Record<string, any>>} run
 * @property {Metric[]} metrics
 * @property {boolean} [memoryVariants] also run the in-memory Tandem variant (for F)
 * @property {(t: import('../targets.mjs').Target) => boolean} [only] the targets it applies to (default: all)
 */

/** CPU other processes on the machine used during the measurement (it is shared). */
const OTHER_LOAD = { key: 'otherLoadPct', label: 'others\' CPU %', better: null, digits: 0 }

/** @type {Scenario[]} */
export const SCENARIOS = [
  {
    id: 'A',
    title: 'Fan-out throughput (closed loop)',
    describe: (p) => `${p.rooms} rooms × ${p.clients} clients, ${p.writers} writers per room, each keeping ${p.window} one-character updates in flight (acknowledged when the room's first reader gets them); ${p.durationMs / 1000} s measured after ${p.warmupMs / 1000} s warm-up.`,
    run: runA,
    memoryVariants: true,
    metrics: [
      { key: 'deliveriesPerSec', label: 'deliveries/s', better: 'higher', ratio: true, digits: 0 },
      { key: 'framesPerSec', label: 'frames/s in', better: null, digits: 0 },
      { key: 'cpuMsPer1000', label: 'CPU ms / 1k deliveries', better: 'lower', ratio: true, digits: 2 },
      { key: 'wireBytesPerDelivery', label: 'wire bytes / delivery', better: 'lower', digits: 1 },
      { key: 'serverCpuPct', label: 'server CPU %', better: null, digits: 0 },
      { key: 'p50', label: 'p50 ms', better: 'lower', digits: 1 },
      { key: 'p99', label: 'p99 ms', better: 'lower', digits: 1 },
      { key: 'rssMiB', label: 'RSS MiB', better: 'lower', digits: 0 },
      { key: 'loadgenCpuPct', label: 'loadgen CPU %', better: null, digits: 0 },
      OTHER_LOAD,
    ],
  },
  {
    id: 'B',
    title: 'Latency at fixed load (open loop)',
    describe: (p) => `${p.rooms} rooms × ${p.clients} clients, ${p.writers} writers per room, ${p.rate} updates/s in total (round-robin, latency from the scheduled send time to each of the other ${p.clients - 1} clients); ${p.durationMs / 1000} s measured.`,
    run: runB,
    memoryVariants: true,
    metrics: [
      { key: 'p50', label: 'p50 ms', better: 'lower', digits: 2 },
      { key: 'p99', label: 'p99 ms', better: 'lower', ratio: true, digits: 2 },
      { key: 'max', label: 'max ms', better: 'lower', digits: 1 },
      { key: 'deliveredPct', label: 'delivered %', better: 'higher', digits: 1 },
      { key: 'cpuMsPer1000', label: 'CPU ms / 1k deliveries', better: 'lower', ratio: true, digits: 2 },
      { key: 'serverCpuPct', label: 'server CPU %', better: null, digits: 0 },
      { key: 'rssMiB', label: 'RSS MiB', better: 'lower', digits: 0 },
      OTHER_LOAD,
    ],
  },
  {
    id: 'C',
    title: 'Capacity: idle synced connections',
    describe: (p) => `${p.rooms * p.clients} connections in ${p.rooms} rooms (${p.concurrency} connecting at a time), each completing the sync handshake; RSS measured ${p.settleMs / 1000} s after the last one synced, minus the idle server's RSS. "Tandem, ${p.roomsPerConn} rooms per socket" holds the same room subscriptions ${p.roomsPerConn} to a socket (tandem-mux-v1, ${Math.ceil((p.rooms * p.clients) / p.roomsPerConn)} sockets): its "per conn" is per room subscription.`,
    run: runC,
    metrics: [
      { key: 'rssPerConnKiB', label: 'RSS KiB / conn', better: 'lower', ratio: true, digits: 1 },
      { key: 'connectSyncMs', label: 'connect+sync ms', better: 'lower', ratio: true, digits: 0 },
      { key: 'connectCpuMs', label: 'connect CPU ms', better: 'lower', digits: 0 },
      { key: 'rssBaselineMiB', label: 'idle RSS MiB', better: null, digits: 0 },
      { key: 'rssMiB', label: 'loaded RSS MiB', better: null, digits: 0 },
      { key: 'dropped', label: 'dropped', better: 'lower', digits: 0 },
      OTHER_LOAD,
    ],
  },
  {
    id: 'D',
    title: 'Large document: join waves',
    describe: (p) => `Trace of ${p.ops} single-character operations by ${p.authors} authors (seed ${p.seed}), sent as ${p.chunks} updates (the relay gets the compacted state as one frame and replays it). ${p.waves} waves of ${p.clients} clients joining at once while one client stays connected; then, for durable servers, a graceful restart and one wave onto the cold document.`,
    run: runD,
    metrics: [
      { key: 'waveCpuMs', label: 'CPU ms / wave (mean)', better: 'lower', ratio: true, digits: 1 },
      { key: 'waveMs', label: 'wave ms (median)', better: 'lower', ratio: true, digits: 0 },
      { key: 'restartWaveCpuMs', label: 'CPU ms / wave after restart', better: 'lower', digits: 0 },
      { key: 'restartWaveMs', label: 'wave ms after restart', better: 'lower', digits: 0 },
      { key: 'restartMs', label: 'restart to ready ms', better: 'lower', digits: 0 },
      { key: 'docBytes', label: 'state bytes sent', better: null, digits: 0 },
      { key: 'wireKiBPerJoiner', label: 'wire KiB / joiner', better: 'lower', digits: 1 },
      { key: 'seedMs', label: 'seed ms', better: 'lower', digits: 0 },
      { key: 'rssMiB', label: 'RSS MiB', better: 'lower', digits: 0 },
      OTHER_LOAD,
    ],
  },
  {
    id: 'E',
    title: 'Presence: carets at 10 Hz',
    describe: (p) => `${p.rooms} rooms × ${p.clients} clients, each sending an awareness update (y-prosemirror-like caret) at ${p.hz} Hz; ${p.durationMs / 1000} s measured.`,
    run: runE,
    metrics: [
      { key: 'cpuMsPer1000', label: 'CPU ms / 1k deliveries', better: 'lower', ratio: true, digits: 2 },
      { key: 'p50', label: 'p50 ms', better: 'lower', digits: 2 },
      { key: 'p99', label: 'p99 ms', better: 'lower', ratio: true, digits: 2 },
      { key: 'deliveredPct', label: 'delivered %', better: null, digits: 1 },
      { key: 'deliveriesPerSec', label: 'deliveries/s', better: null, digits: 0 },
      { key: 'serverCpuPct', label: 'server CPU %', better: null, digits: 0 },
      { key: 'rssMiB', label: 'RSS MiB', better: 'lower', digits: 0 },
      OTHER_LOAD,
    ],
  },
  {
    id: 'F',
    title: 'Two servers: fan-out across a cluster',
    describe: (p) => `A's closed-loop load (${p.rooms} rooms × ${p.clients} clients, ${p.writers} writers, window ${p.window}) and B's open-loop load (${p.rate} updates/s) with each room's clients alternating between two servers that share a store and Redis (Tandem: PostgreSQL + Redis; Hocuspocus: its Redis extension, in memory), next to one server of each. CPU summed over the servers.`,
    run: runF,
    only: (t) => ['relay', 'tandem-postgres', 'tandem-cluster', 'hocuspocus', 'hocuspocus-redis'].includes(t.id),
    metrics: [
      { key: 'deliveriesPerSec', label: 'A deliveries/s', better: 'higher', ratio: true, digits: 0 },
      { key: 'cpuMsPer1000', label: 'A CPU ms / 1k deliveries', better: 'lower', ratio: true, digits: 2 },
      { key: 'p99', label: 'B p99 ms', better: 'lower', ratio: true, digits: 2 },
      { key: 'p50', label: 'B p50 ms', better: 'lower', digits: 2 },
      { key: 'bCpuMsPer1000', label: 'B CPU ms / 1k deliveries', better: 'lower', digits: 2 },
      { key: 'deliveredPct', label: 'B delivered %', better: 'higher', digits: 1 },
      { key: 'rssMiB', label: 'RSS MiB (all servers)', better: 'lower', digits: 0 },
      OTHER_LOAD,
    ],
  },
  {
    id: 'G',
    title: 'Cold room loads from the store',
    describe: (p) => `${p.rooms} stored rooms (each ~${p.docChars} characters typed in ${p.edits} edits) and one ~${(p.bigChars / 1e6).toFixed(1)} MB document, seeded, then the server restarted: every room opened once in random order (${p.concurrency} at a time), time from connect to the server's sync step 2; then the large document's first load and ${p.joiners} joiners at once. Durable servers only.`,
    run: runG,
    only: (t) => t.durable,
    metrics: [
      { key: 'p50', label: 'p50 ms', better: 'lower', digits: 2 },
      { key: 'p99', label: 'p99 ms', better: 'lower', ratio: true, digits: 2 },
      { key: 'cpuMsPerLoad', label: 'CPU ms / load', better: 'lower', ratio: true, digits: 2 },
      { key: 'loadsPerSec', label: 'loads/s', better: 'higher', digits: 0 },
      { key: 'bigFirstMs', label: 'large doc first load ms', better: 'lower', digits: 0 },
      { key: 'bigWaveMs', label: 'large doc joiners ms', better: 'lower', digits: 0 },
      { key: 'bigCpuMs', label: 'large doc CPU ms', better: 'lower', digits: 0 },
      { key: 'bigMiB', label: 'large doc MiB', better: null, digits: 1 },
      { key: 'restartMs', label: 'restart to ready ms', better: 'lower', digits: 0 },
      { key: 'rssMiB', label: 'RSS MiB', better: 'lower', digits: 0 },
      OTHER_LOAD,
    ],
  },
  {
    id: 'H',
    title: 'Many idle connections',
    describe: (p) => `${p.rooms * p.clients} connections in ${p.rooms} rooms from 253 loopback addresses (${p.concurrency} connecting at a time), each synced; RSS ${p.settleMs / 1000} s after the last one synced, minus the idle server's. (20,000 is this machine's per-process file limit, which the server's own files and sockets share.)`,
    run: runC,
    only: (t) => t.role === 'relay' || t.id === 'tandem',
    metrics: [
      { key: 'rssPerConnKiB', label: 'RSS KiB / conn', better: 'lower', ratio: true, digits: 1 },
      { key: 'connectSyncMs', label: 'connect+sync ms', better: 'lower', ratio: true, digits: 0 },
      { key: 'connectCpuMs', label: 'connect CPU ms', better: 'lower', digits: 0 },
      { key: 'rssMiB', label: 'loaded RSS MiB', better: null, digits: 0 },
      { key: 'dropped', label: 'dropped', better: 'lower', digits: 0 },
      OTHER_LOAD,
    ],
  },
]
