// bench/README.md: how the benchmark works and a summary of the last committed run.
import { goalsTable } from './markdown.mjs'
import { num, ratio } from './format.mjs'

/** @param {{ machine: any, config: import('../config.mjs').Config, agg: Record<string, import('./aggregate.mjs').Row[]>,
 *   goals: ReturnType<typeof import('./goals.mjs').checkGoals>, startedAt: string }} r */
export function readme (r) {
  const m = r.machine
  const head = (/** @type {string} */ sc, /** @type {string} */ key, /** @type {number} */ digits) => (id) => {
    const row = r.agg[sc]?.find((x) => x.target === id)
    return row ? `${num(row.values[key], digits)} (${ratio(row.vsRelay[key])})` : '—'
  }
  const cols = [
    ['A deliveries/s', head('A', 'deliveriesPerSec', 0)],
    ['A CPU ms/1k', head('A', 'cpuMsPer1000', 2)],
    ['B p99 ms', head('B', 'p99', 2)],
    ['C KiB/conn', head('C', 'rssPerConnKiB', 1)],
    ['D CPU ms/wave', head('D', 'waveCpuMs', 0)],
    ['E CPU ms/1k', head('E', 'cpuMsPer1000', 2)],
  ]
  const ids = [...new Set(Object.values(r.agg).flat().map((x) => x.target))]
  const labels = Object.fromEntries(Object.values(r.agg).flat().map((x) => [x.target, x.label]))
  const verified = Object.fromEntries(Object.values(r.agg).flat().map((x) => [x.target, x.verified]))
  const summary = [
    `| server | ${cols.map((c) => c[0]).join(' | ')} |`,
    `|---|${cols.map(() => '---:').join('|')}|`,
    ...ids.map((id) => `| ${labels[id]}${verified[id] ? '' : ' (unverified)'} | ${cols.map(([, f]) => /** @type {any} */ (f)(id)).join(' | ')} |`),
  ].join('\n')
  return `# @tandem/bench — Tandem against its peers, same machine, same run

\`pnpm bench\` (from the repository root) starts each server as its own Node process, drives it
from a separate load-generator process, and writes \`results/results.md\` (one table per
scenario), \`results/results.json\` (every run plus the medians) and \`results/results.svg\`.

    pnpm bench                       # default sizes, 3 interleaved repeats (~20 min on 2 cores)
    pnpm bench --quick               # tiny sizes, 1 repeat, < 2 min; writes results/tmp/quick/
    pnpm bench --scenarios A,D --targets relay,tandem --repeats 1
    pnpm bench --set A.rooms=20      # or BENCH_A_ROOMS=20; every parameter is listed in src/config.mjs
    pnpm bench --profile             # Tandem runs with --cpu-prof; profiles in results/tmp/prof/

## Servers
- **ws relay**: \`servers/ws-relay.mjs\`, a \`ws\` server that forwards each frame's bytes to the other
  sockets of its room (in scenario D it also replays the room's frames to newcomers). The per-frame ceiling.
- **@y/websocket-server 0.1.1**, its own \`src/server.js\`, in memory.
- **Hocuspocus 4.7.0** (\`servers/hocuspocus.mjs\`), in memory, with \`@hocuspocus/extension-sqlite\`, and two of them with \`@hocuspocus/extension-redis\` (F).
- **Tandem**: \`node apps/server/dist/main.js\` with its SQLite store, and with \`STORE=memory\` for scenario S.

## Method
- Load clients (\`src/loadgen/\`) do no Yjs work: they send pre-generated, byte-exact Yjs updates and
  awareness frames, and read only frame headers and struct ids (\`src/wire/parse.mjs\`, checked against
  \`Y.decodeUpdate\` by \`test/loadgen.test.ts\`). Hocuspocus is spoken the way its provider does (document
  name before every message, auth message first).
- Before any timing, a real client (y-websocket's \`WebsocketProvider\`, or \`HocuspocusProvider\`) and the
  light client edit one room on each server and must converge; a row that fails is marked unverified.
- Server CPU = utime+stime of the server's own process (\`/proc/<pid>/stat\`, 10 ms ticks), RSS = VmRSS.
  Targets run one at a time, in a rotated order per repeat; every run gets a fresh server process.
- Load clients connect from 253 loopback source addresses (127.0.0.2-254, round robin), as many users
  would, so a per-IP connection cap (Tandem's default is 100) sees ~20 users per address.
- Tandem runs with its abuse limits off (\`MAX_CONNECTIONS_PER_IP\`, \`MAX_CONNECTIONS_PER_ROOM\`,
  \`MAX_ROOMS\`, \`RATE_LIMIT_*\` = 0; \`src/targets.mjs\`): the peers have none, and scenario A's synthetic
  writers send ~160 updates/s each, close to the default 200 frames/s per connection. Durability,
  buffer caps and update validation stay on. With Tandem's default limits scenario C measured the
  same within noise (10.2-10.7 vs 10.7-11.1 KiB per connection, 2 runs each).
- Before each run the runner waits (up to 90 s) until other processes use < 30 % of a core, reports
  the CPU they used during the measurement ("others' CPU %"), and reruns a run they disturbed
  (> 50 % of a core) once, keeping the less disturbed attempt: the machine is shared.
- A delivery is one update (or awareness state) arriving at one client other than its author.
  Latency is measured from the scheduled send time (open loop, no coordinated omission).
  In B and E, CPU per delivery charges the window's messages with the CPU spent until the last of them
  arrived (a server that falls behind cannot leave work for after the window); in A it is the window's
  CPU over the window's deliveries.
- The load generator is one process on the other core. In A the relay forwards every update as its own
  frame, so the load generator reads ~3× more frames for it than for servers that merge a turn's updates;
  both sit near 100 % CPU there, so the relay's A throughput is a lower bound, limited by the load
  generator as much as by the relay (its CPU per delivery is unaffected). See "loadgen CPU %".
- Scenario D's document is generated from a seeded editing trace (5 authors, typing bursts,
  backspace runs, caret jumps) and cached in \`results/tmp/\`.
- Scenario F runs A's and B's load on two servers sharing a store and a fan-out, each room's
  clients alternating between them (so every delivery to a client of the other server crosses
  Redis): Tandem × 2 on PostgreSQL + Redis (\`BENCH_DATABASE_URL\`, \`BENCH_REDIS_URL\`; a schema and
  key prefix of their own per run), next to one Tandem on the same PostgreSQL; Hocuspocus × 2 with
  \`@hocuspocus/extension-redis\` 4.7.0, next to one Hocuspocus. CPU and RSS are summed over a
  cluster's processes. Scenario S (formerly F) divides A and B with the durable store by the same
  server in memory.
- Scenario G (cold loads; durable servers: Tandem on SQLite and on PostgreSQL, Hocuspocus + SQLite)
  seeds 1,000 rooms and a ~5 MB document, restarts the server, then opens each room once in a
  seeded random order and times connect → the server's sync step 2. Tandem on PostgreSQL uses the
  machine's server (\`BENCH_DATABASE_URL\`, default the tests' database) in a schema of its own per run.
- Scenario H is C at 19,000 connections (Tandem and the relay): this machine's hard per-process
  file limit is 20,000 (\`ulimit -Hn\`; raising it needs privileges the machine does not give), which
  the server's own files share, so 20,000 sockets cannot be held by one process here.

## Last run
${r.startedAt} on ${m.nproc} × ${m.cpuModel} (nproc ${m.nproc}), ${m.memGiB} GiB RAM, Node ${m.node}.
${r.config.repeats} repeats, medians. Value (× the ws relay's):

${summary}

${goalsTable(r.goals)}

Full tables: [results/results.md](results/results.md), chart: [results/results.svg](results/results.svg),
profile of Tandem's misses: [results/profile-notes.md](results/profile-notes.md).
Re-render them from results.json after editing the report code: \`node src/rerender.mjs\`.
`
}
