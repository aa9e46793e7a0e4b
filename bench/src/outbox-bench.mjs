// Micro-benchmark: what the webhook outbox adds to a commit (apps/server/src/store/outbox.ts).
// N one-row commits (`DocStore.append` with one entry, as the committer makes for one edit) into
// the SQLite store, and with --pg into PostgreSQL, without webhooks and with them (the room's
// change row upserted in the same transaction), alternating rounds; median time per commit.
//   pnpm --filter @tandem/server build && node bench/src/outbox-bench.mjs [--commits 20000] [--rounds 3] [--rooms 10] [--pg postgres://…]
import { parseArgs } from 'node:util'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteStore } from '../../apps/server/dist/store/sqlite.js'
import { createPostgresStore } from '../../apps/server/dist/store/postgres.js'

const { values } = parseArgs({
  options: {
    commits: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    rooms: { type: 'string', default: '10' },
    pg: { type: 'string' },
  },
})
const COMMITS = Number(values.commits)
const ROUNDS = Number(values.rounds)
const ROOMS = Number(values.rooms)
const update = new Uint8Array(40).fill(7) // about one keystroke's update
const webhooks = { urls: ['http://127.0.0.1:9/hook'] }

async function run(open) {
  const store = await open()
  try {
    const started = performance.now()
    for (let i = 0; i < COMMITS; i++) await store.append([{ room: `room-${i % ROOMS}`, update, authors: ['alice'] }])
    return ((performance.now() - started) * 1000) / COMMITS
  } finally {
    // The checkpoint worker is unref'd: keep the loop alive until it has stopped.
    const alive = setInterval(() => {}, 1000)
    await store.close()
    clearInterval(alive)
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function compare(name, open) {
  const off = []
  const on = []
  for (let r = 0; r < ROUNDS; r++) {
    off.push(await run(() => open(undefined)))
    on.push(await run(() => open(webhooks)))
  }
  const a = median(off)
  const b = median(on)
  console.log(`${name}: ${a.toFixed(1)} µs/commit without webhooks, ${b.toFixed(1)} µs/commit with (+${(b - a).toFixed(1)} µs, +${(((b - a) / a) * 100).toFixed(0)} %)`)
}

await compare(`sqlite (${COMMITS} commits, ${ROOMS} rooms)`, async (wh) => {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-bench-'))
  const store = createSqliteStore({ dataDir: dir, synchronous: 'NORMAL', webhooks: wh })
  const close = store.close
  return Object.assign(store, { close: async () => { await close(); rmSync(dir, { recursive: true, force: true }) } })
})

if (values.pg) {
  let n = 0
  await compare(`postgres (${COMMITS} commits, ${ROOMS} rooms)`, async (wh) => {
    const schema = `outbox_bench_${process.pid}_${n++}`
    const store = await createPostgresStore({ url: values.pg, schema, webhooks: wh })
    const close = store.close
    return Object.assign(store, {
      close: async () => {
        const pg = createRequire(new URL('../../apps/server/package.json', import.meta.url))('pg')
        const c = new pg.Client({ connectionString: values.pg })
        await close()
        await c.connect()
        await c.query(`DROP SCHEMA "${schema}" CASCADE`)
        await c.end()
      },
    })
  })
}
