// The only reader of argv/env for the benchmark: defaults, --quick sizes, overrides.
//   --quick               tiny sizes, 1 repeat, results to results/tmp/quick (smoke test)
//   --repeats N           interleaved repeats (median reported), default 3
//   --scenarios A,B,...   subset of A-H and S (S, the store's cost, is derived from A and B)
//   --targets id,...      subset of targets (see src/targets.mjs)
//   --set A.rooms=20      override one parameter (also env BENCH_A_ROOMS=20)
//   --profile             run Tandem's server with --cpu-prof (profiles in results/tmp/prof)
//   --out DIR             where results go
//   --quiet-wait S        before each run wait up to S seconds for other processes to calm down
//   --retries N           rerun a run other processes disturbed (> 50 % of a core) up to N times
import { join } from 'node:path'
import { RESULTS_DIR, TMP_DIR } from './paths.mjs'

const DEFAULTS = {
  A: { rooms: 50, clients: 10, writers: 2, window: 2, pool: 6000, warmupMs: 2000, durationMs: 10_000, concurrency: 100 },
  B: { rooms: 100, clients: 10, writers: 2, rate: 2000, warmupMs: 2000, durationMs: 10_000, concurrency: 100 },
  // roomsPerConn: rooms per socket for the multiplexing target (tandem-mux); 1 socket per room subscription for the others
  C: { rooms: 500, clients: 10, roomsPerConn: 10, concurrency: 100, settleMs: 1500 },
  D: { ops: 100_000, authors: 5, chunks: 1000, seed: 42, clients: 20, waves: 10, settleMs: 3000 },
  E: { rooms: 20, clients: 10, hz: 10, warmupMs: 2000, durationMs: 10_000, concurrency: 100 },
  // A's and B's load, each room's clients split over two servers (and one server, to compare)
  F: { rooms: 50, clients: 10, writers: 2, window: 2, pool: 6000, rate: 2000, warmupMs: 2000, durationMs: 10_000, concurrency: 100 },
  // 1,000 rooms of ~2 KB (40 edits each), opened cold 4 at a time; a ~5 MB document, then 20 joiners
  G: { rooms: 1000, docChars: 2000, edits: 40, concurrency: 4, bigChars: 5_000_000, joiners: 20, settleMs: 3000 },
  // as C, at the most connections this machine's per-process file limit (20,000) leaves room for
  H: { rooms: 1900, clients: 10, concurrency: 200, settleMs: 3000 },
}

/** @type {Record<string, Record<string, number>>} */
const QUICK = {
  A: { rooms: 5, clients: 4, pool: 12_000, warmupMs: 300, durationMs: 1000 },
  B: { rooms: 5, clients: 4, rate: 200, warmupMs: 300, durationMs: 1000 },
  C: { rooms: 20, clients: 10, roomsPerConn: 10, settleMs: 300 },
  D: { ops: 10_000, chunks: 100, clients: 4, waves: 2, settleMs: 2200 },
  E: { rooms: 4, clients: 4, warmupMs: 300, durationMs: 1000 },
  F: { rooms: 5, clients: 4, pool: 12_000, rate: 200, warmupMs: 300, durationMs: 1000 },
  G: { rooms: 50, docChars: 500, edits: 10, bigChars: 200_000, joiners: 4, settleMs: 2200 },
  H: { rooms: 50, clients: 10, settleMs: 300 },
}

const SCENARIO_IDS = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'S']

/** @param {string[]} argv @param {NodeJS.ProcessEnv} env */
export function parseConfig (argv, env) {
  const flags = new Map()
  const sets = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`)
    const [k, inline] = a.slice(2).split(/=(.*)/s)
    const boolean = k === 'quick' || k === 'profile'
    const v = boolean ? 'true' : inline ?? argv[++i]
    if (v === undefined) throw new Error(`--${k} needs a value`)
    if (k === 'set') sets.push(v)
    else flags.set(k, v)
  }
  const quick = flags.has('quick')
  /** @type {Record<string, Record<string, number>>} */
  const params = {}
  for (const [sc, d] of Object.entries(DEFAULTS)) {
    params[sc] = { ...d, ...(quick ? QUICK[sc] : {}) }
    for (const key of Object.keys(d)) {
      const e = env[`BENCH_${sc}_${key.toUpperCase()}`]
      if (e !== undefined) params[sc][key] = num(e, `BENCH_${sc}_${key.toUpperCase()}`)
    }
  }
  for (const s of sets) {
    const m = /^([A-H])\.(\w+)=(.+)$/.exec(s)
    if (!m || !(m[2] in params[m[1]])) throw new Error(`bad --set ${s} (expected e.g. A.rooms=20)`)
    params[m[1]][m[2]] = num(m[3], s)
  }
  const scenarios = (flags.get('scenarios') ?? SCENARIO_IDS.join(',')).split(',').map((/** @type {string} */ s) => s.trim().toUpperCase())
  for (const s of scenarios) if (!SCENARIO_IDS.includes(s)) throw new Error(`unknown scenario ${s}`)
  return Object.freeze({
    quick,
    repeats: Number(flags.get('repeats') ?? (quick ? 1 : 3)),
    scenarios,
    targets: flags.has('targets') ? String(flags.get('targets')).split(',') : null,
    profile: flags.has('profile'),
    quietWaitS: Number(flags.get('quiet-wait') ?? (quick ? 0 : 90)),
    retries: Number(flags.get('retries') ?? (quick ? 0 : 1)),
    outDir: flags.get('out') ?? (quick ? join(TMP_DIR, 'quick') : RESULTS_DIR),
    params,
  })
}

/** @param {string} v @param {string} what */
function num (v, what) {
  const n = Number(v)
  if (!Number.isFinite(n)) throw new Error(`${what}: not a number: ${v}`)
  return n
}

/** @typedef {ReturnType<typeof parseConfig>} Config */
