// Structure-aware fuzzing of a REAL server (in this process, on a real port, SQLite in a temp
// DATA_DIR) with stock `ws` clients sending hostile-but-decodable Yjs updates and awareness
// updates (arbitraries.ts) into a few rooms. After every run (a batch of 1-6 actions) it checks
// the invariants Tandem keeps under hostile input (docs/architecture.md, "Invariants"):
//   1. the server answers: a bystander in another room gets an edit round trip (liveness, with a
//      generous timeout; never a speed assertion), and every hostile frame was handled (a ping's
//      pong came back) or its connection closed;
//   2. a hostile connection is only ever closed with a code docs/protocol.md gives bad input
//      (1007, 1008, 1009, 4002, 4413): never 1011 (an exception the admission path did not expect);
//   3. every room the run touched accepts a normal write from a fresh client that another fresh
//      client then sees, unless the room is genuinely full (the writer got 4413 and the room
//      holds at least half of MAX_DOC_STRUCTS);
//   4. GET /api/rooms/<room>/state applies in a fresh Y.Doc without throwing and leaves nothing
//      pending there (pendingStructs === null && pendingDs === null);
//   5. a well-behaved resident of each touched room (a Y.Doc + a y-protocols Awareness) is never
//      closed and never fails to apply what the server relays to it, its presence is not taken
//      over, and every awareness state the server hands a joiner has a clock ≤ 2^53 − 2 and JSON
//      nesting ≤ 64 (what the server admits);
//   6. memory stays in budget: heapUsed after a full GC stays below the baseline plus, per touched
//      room, what its budgets allow (see HEAP_BOUND below).
// Seeded and bounded: prints its seed; FUZZ_SEED replays a run, FUZZ_RUNS / FUZZ_SECONDS lengthen
// it (`pnpm fuzz` runs 10 minutes). CI: ~60 s of runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as Y from 'yjs'
import { readAwarenessUpdate, readFrame, writeQueryAwareness } from '@tandem/sync'
import type { RunningServer } from '../helpers/server.js'
import { batchArb, encodeAction, MESSAGE_KINDS, ROOMS_PER_RUN, type Action, type MessageKind } from './arbitraries.js'
import { Bystander, DocClient, fetchState, heapAfterGc, MiB, RawClient, Servers, structCount, tryRoomWrite, type CloseInfo } from './harness.js'

const env = (name: string): number | undefined => {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return undefined
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`)
  return n
}
const SEED = env('FUZZ_SEED') ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0
const RUNS = env('FUZZ_RUNS')
const SECONDS = env('FUZZ_SECONDS') ?? (RUNS === undefined ? 60 : undefined)
/** FUZZ_KINDS=update,step1 (say) leaves awareness out; default: every kind */
const KINDS = (process.env.FUZZ_KINDS ? process.env.FUZZ_KINDS.split(',').map((k) => k.trim()) : MESSAGE_KINDS) as MessageKind[]
for (const k of KINDS) if (!MESSAGE_KINDS.includes(k)) throw new Error(`FUZZ_KINDS: unknown kind ${JSON.stringify(k)} (known: ${MESSAGE_KINDS.join(', ')})`)

/** Budgets: defaults, except the struct cap (small, so the fuzzer reaches it cheaply) and the pending timeout (reached within a run). */
const MAX_DOC_STRUCTS = 20_000
const PENDING_TIMEOUT_MS = 250
const MAX_PENDING_BYTES = 1024 * 1024 // the server's default (src/config.ts)
const MAX_PRESENCE_BYTES_PER_CONNECTION = 256 * 1024 // the server's default (src/config.ts)
// Every run opens its sockets from 127.0.0.1 at machine speed: the per-address handshake and /api
// rates would refuse the fuzzer itself, not what it sends.
const SERVER_ENV = {
  MAX_DOC_STRUCTS: String(MAX_DOC_STRUCTS),
  PENDING_TIMEOUT_MS: String(PENDING_TIMEOUT_MS),
  RATE_LIMIT_HANDSHAKES_PER_SEC: '0',
  RATE_LIMIT_API_PER_SEC: '0',
}

/**
 * Heap budget per touched room, from the configured budgets: the room's Y.Doc at its struct cap
 * (≤ 400 bytes per struct: an Item, its ID and content) twice over (the server's doc and the
 * resident's copy in this same process), 4× the pending bytes it may hold (held as bytes and as
 * decoded parts), and the presence of every connection that may hold some (≤ 4 here: resident,
 * two hostile, a joiner) at 4× (bytes kept, copies in flight, the resident's parsed states).
 * Plus a fixed 64 MiB of slack for everything else in this process (clients, fast-check, V8).
 */
const PER_ROOM = 2 * MAX_DOC_STRUCTS * 400 + 4 * MAX_PENDING_BYTES + 4 * 4 * MAX_PRESENCE_BYTES_PER_CONNECTION
const SLACK = 64 * MiB

/** Close codes docs/protocol.md gives for refused input (plus 1000/1005 when our side closed). */
const ALLOWED_CLOSES = new Set([1007, 1008, 1009, 4002, 4413])
const AWARENESS_MAX_CLOCK = Number.MAX_SAFE_INTEGER - 1
const AWARENESS_MAX_DEPTH = 64

const servers = new Servers()
let s: RunningServer
let bystander: Bystander
let baseline = 0
let run = 0
const stats = { runs: 0, actions: 0, closes: new Map<string, number>(), fullRooms: 0 }

beforeAll(async () => {
  s = await servers.start(SERVER_ENV)
  bystander = await Bystander.open(s.wsUrl, 'fuzz-bystander')
  await bystander.roundTrip()
  baseline = heapAfterGc()
})
afterAll(async () => {
  bystander?.close()
  await servers.closeAll()
})

/** JSON nesting depth (arrays + objects) of a parsed value, without recursion. */
function jsonDepth(v: unknown): number {
  let max = 0
  const stack: Array<[unknown, number]> = [[v, 0]]
  while (stack.length) {
    const [x, d] = stack.pop()!
    if (x === null || typeof x !== 'object') {
      max = Math.max(max, d)
      continue
    }
    max = Math.max(max, d + 1)
    for (const child of Array.isArray(x) ? x : Object.values(x)) stack.push([child, d + 1])
  }
  return max
}

const describeAction = (a: Action, i: number) =>
  `action ${i} (room ${a.room}, conn ${a.conn}, ${a.msg.t}${a.msg.t === 'update' ? ` ${a.msg.shape.kind}` : a.msg.t === 'awareness' ? ` ${a.msg.shape.kind}` : ''})`

/** One run: the actions, then every invariant. Throws (with what broke) on a violation. */
async function runBatch(actions: Action[]): Promise<void> {
  const id = ++run
  const rooms = Array.from({ length: ROOMS_PER_RUN }, (_, i) => `fuzz-${id}-${i}`)
  const touched = [...new Set(actions.map((a) => a.room))].sort()
  const residents = new Map<number, DocClient>()
  const conns = new Map<string, RawClient>()
  const hostile: Array<{ what: string; c: RawClient }> = []
  /** structs the hostile updates of this run carried, per room (what could legitimately fill it) */
  const sent = new Map<number, number>()
  const opened: Array<{ closeAndWait(): Promise<void> }> = []
  try {
    for (const r of touched) {
      const res = await DocClient.open(s.wsUrl, rooms[r]!, { presence: { user: { name: `resident-${r}` } } })
      opened.push(res)
      residents.set(r, res)
    }
    for (const [i, a] of actions.entries()) {
      const key = `${a.room}:${a.conn}`
      let c = conns.get(key)
      if (!c || !c.isOpen) {
        c = await RawClient.open(s.wsUrl, rooms[a.room]!)
        opened.push(c)
        conns.set(key, c)
      }
      hostile.push({ what: describeAction(a, i), c })
      const frames = encodeAction(a, residents.get(a.room)!.doc.clientID)
      if (a.msg.t === 'update') sent.set(a.room, (sent.get(a.room) ?? 0) + frames.reduce((n, f) => n + structsIn(f), 0))
      for (const frame of frames) c.send(frame)
      // Liveness: the frames were handled (or the connection closed) within a generous bound.
      await c.barrier(30_000)
      stats.actions++
    }

    const tActions = performance.now()
    // 1. Another room still answers.
    await bystander.roundTrip(30_000)

    for (const r of touched) {
      const room = rooms[r]!
      // 3. A normal write, unless the room is at its struct budget.
      const refused = await tryRoomWrite(s.wsUrl, room, 30_000)
      // 4. The state applies in a fresh Y.Doc, with nothing pending.
      const state = await fetchState(s.url, room)
      if (state.pendingStructs || state.pendingDs) {
        throw new Error(`room ${room}: the state (${state.bytes} bytes) leaves a fresh Y.Doc with pending ${state.pendingStructs ? 'structs' : 'deletions'}`)
      }
      if (refused) {
        // Full is fine only if it could be: the state holds, or this run sent, half the cap or more.
        const structs = Math.max(structCount(state.doc), sent.get(r) ?? 0)
        if (refused.code !== 4413 || structs < MAX_DOC_STRUCTS / 2) {
          throw new Error(
            `room ${room} refused a normal write (${refused.code} ${refused.reason}); its state holds ${structCount(state.doc)} structs and this run sent it ${sent.get(r) ?? 0} (MAX_DOC_STRUCTS ${MAX_DOC_STRUCTS})`,
          )
        }
        stats.fullRooms++
      }
      state.doc.destroy()

      // 5. The resident: never closed, never handed something it cannot apply, presence its own.
      const res = residents.get(r)!
      if (res.raw.closeInfo) throw new Error(`room ${room}: the well-behaved resident was closed ${res.raw.closeInfo.code} ${res.raw.closeInfo.reason}`)
      if (res.applyError) throw new Error(`room ${room}: the resident could not apply a relayed update: ${res.applyError.message}`)
      if (res.awarenessError) throw new Error(`room ${room}: the resident's y-protocols Awareness threw on a relayed update: ${res.awarenessError.message}`)
      await checkPresence(room, res.doc.clientID, `resident-${r}`)
    }

    // 2. Only the close codes for refused input.
    for (const { what, c } of hostile) {
      const ci: CloseInfo | undefined = c.closeInfo
      if (!ci) continue
      const key = `${ci.code} ${ci.reason}`
      stats.closes.set(key, (stats.closes.get(key) ?? 0) + 1)
      if (!ALLOWED_CLOSES.has(ci.code)) throw new Error(`${what}: closed with ${ci.code} "${ci.reason}", not a code docs/protocol.md gives for refused input`)
    }

    const tChecks = performance.now()
    // 6. Memory, while this run's rooms are still loaded.
    const heap = heapAfterGc()
    const bound = baseline + touched.length * PER_ROOM + SLACK
    if (heap > bound) {
      throw new Error(`heapUsed ${(heap / MiB).toFixed(0)} MiB after a full GC, above the bound ${(bound / MiB).toFixed(0)} MiB (baseline ${(baseline / MiB).toFixed(0)} MiB + ${touched.length} rooms × ${(PER_ROOM / MiB).toFixed(1)} MiB + ${SLACK / MiB} MiB)`)
    }
    stats.runs++
    if (process.env.FUZZ_VERBOSE) console.log(`run ${id}: ${actions.map((a, i) => describeAction(a, i)).join('; ')} | actions→checks ${(tChecks - tActions).toFixed(0)} ms, gc ${(performance.now() - tChecks).toFixed(0)} ms`)
  } finally {
    await Promise.all(opened.map((c) => c.closeAndWait()))
  }
}

/** A joiner's view of the room's presence: states the server admits, the resident's own state intact. */
async function checkPresence(room: string, residentId: number, residentName: string): Promise<void> {
  const joiner = await RawClient.open(s.wsUrl, room)
  try {
    const before = joiner.frames.length
    joiner.send(writeQueryAwareness())
    await joiner.barrier(30_000)
    const answers = joiner.frames.slice(before).filter((f) => f[0] === 1)
    const answer = answers.at(-1)
    if (!answer) throw new Error(`room ${room}: no answer to query-awareness`)
    const update = answer.subarray(1 + varUintLength(answer, 1))
    const entries = readAwarenessUpdate(update)
    for (const e of entries) {
      if (e.state === null) continue
      if (e.clock > AWARENESS_MAX_CLOCK) throw new Error(`room ${room}: a joiner is handed client ${e.clientID}'s state at clock ${e.clock} (> 2^53 − 2)`)
      const depth = jsonDepth(e.state)
      if (depth > AWARENESS_MAX_DEPTH) throw new Error(`room ${room}: a joiner is handed client ${e.clientID}'s state nesting ${depth} deep (> ${AWARENESS_MAX_DEPTH})`)
    }
    const mine = entries.find((e) => e.clientID === residentId)
    const name = (mine?.state as { user?: { name?: string } } | null | undefined)?.user?.name
    if (name !== residentName) throw new Error(`room ${room}: the resident's presence was taken over or removed (a joiner sees ${JSON.stringify(mine?.state)?.slice(0, 200)})`)
    const aw = new awarenessProtocol.Awareness(new Y.Doc())
    try {
      awarenessProtocol.applyAwarenessUpdate(aw, update, 'joiner')
    } catch (err) {
      throw new Error(`room ${room}: y-protocols cannot apply the presence a joiner is handed: ${(err as Error).message}`, { cause: err })
    } finally {
      aw.destroy()
    }
  } finally {
    await joiner.closeAndWait()
  }
}

/** Structs in the update a sync frame carries (0 if it does not decode). */
function structsIn(frame: Uint8Array): number {
  try {
    const f = readFrame(frame)
    return f.type === 'sync-update' || f.type === 'sync-step2' ? Y.decodeUpdate(f.update).structs.length : 0
  } catch {
    return 0
  }
}

/** Bytes of the varUint at `pos` (the awareness frame's payload length prefix). */
function varUintLength(bytes: Uint8Array, pos: number): number {
  let n = 1
  while (bytes[pos + n - 1]! >= 0x80) n++
  return n
}

describe('fuzz: hostile updates and awareness against a real server', () => {
  const timeout = SECONDS === undefined ? 24 * 3600_000 : (SECONDS + 120) * 1000
  it(`keeps every invariant (seed ${SEED})`, { timeout }, async () => {
    console.log(`fuzz: seed ${SEED} (replay: FUZZ_SEED=${SEED}), ${RUNS ?? 'unbounded'} runs, ${SECONDS ?? 'no'} s limit, kinds ${KINDS.join(',')}`)
    const started = Date.now()
    const plugins = SECONDS === undefined ? [] : [fc.interruptAfterTimeLimit(SECONDS * 1000)]
    const details = await fc.check(
      fc.asyncProperty(batchArb(KINDS), async (actions) => {
        await runBatch(actions)
      }),
      { seed: SEED, path: process.env.FUZZ_PATH || undefined, numRuns: RUNS ?? 1_000_000, plugins, endOnFailure: process.env.FUZZ_SHRINK === '0' },
    )
    const secs = ((Date.now() - started) / 1000).toFixed(0)
    const closes = [...stats.closes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join(', ')
    console.log(`fuzz: ${stats.runs} runs passed (${stats.actions} actions) in ${secs} s; rooms found full: ${stats.fullRooms}; closes: ${closes || 'none'}`)
    if (details.failed) {
      throw new Error(
        `fuzz: invariant broken (seed ${details.seed}, path "${details.counterexamplePath}", after ${details.numRuns} runs and ${details.numShrinks} shrinks; replay with FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath})\n` +
          `counterexample: ${fc.stringify(details.counterexample)}\n${(details.errorInstance as Error | undefined)?.message ?? String(details.errorInstance)}`,
      )
    }
    expect(stats.runs).toBeGreaterThan(0)
  })
})
