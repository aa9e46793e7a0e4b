// The storage cost of one version (version history, apps/server/src/store/versions.ts) for the
// ~370 KB document of scenario D: run by hand after `pnpm build` (bench/README.md):
//   node bench/src/history-cost.mjs
// Takes 20 versions of the document, a small edit between each, in a fresh SQLite store, and
// prints the document's encoded size, a version's stored (compressed) size and the file growth.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Y from 'yjs'
import { ensureTrace } from './trace.mjs'
import { readTrace } from './trace-file.mjs'
import { parseConfig } from './config.mjs'
import { REPO_DIR, TMP_DIR } from './paths.mjs'

const VERSIONS = 20
const { createSqliteStore } = await import(join(REPO_DIR, 'apps/server/dist/store/sqlite.js'))
const { packState } = await import(join(REPO_DIR, 'apps/server/dist/store/versions.js'))

const trace = readTrace(readFileSync(ensureTrace(/** @type {any} */ (parseConfig([], {}).params.D), TMP_DIR).path))
const doc = new Y.Doc()
Y.applyUpdate(doc, trace.state)
const state = Y.encodeStateAsUpdate(doc)

const t0 = performance.now()
const packed = await packState(state)
const packMs = performance.now() - t0

const dir = mkdtempSync(join(tmpdir(), 'history-cost-'))
const file = join(dir, 'tandem.sqlite')
const store = createSqliteStore({ dataDir: dir, synchronous: 'NORMAL', checkpointIntervalMs: 0 })
await store.append([{ room: 'd', update: state }])
const sizeOf = () => statSync(file).size + (statSync(file + '-wal', { throwIfNoEntry: false })?.size ?? 0)
await store.close()
const reopened = createSqliteStore({ dataDir: dir, synchronous: 'NORMAL', checkpointIntervalMs: 0 })
const before = sizeOf()
for (let i = 0; i < VERSIONS; i++) {
  const sv = Y.encodeStateVector(doc)
  doc.getText('t').insert(0, `edit ${i} `)
  const [seq] = await reopened.append([{ room: 'd', update: Y.encodeStateAsUpdate(doc, sv) }])
  await reopened.versions.take({ room: 'd', seq, at: Date.now(), name: null, kind: 'auto', state: Y.encodeStateAsUpdate(doc) }, { authors: [] })
}
await reopened.close() // checkpoints the WAL into the file
const after = statSync(file).size
rmSync(dir, { recursive: true, force: true })

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`
console.log(`document: ${trace.info.chars} characters, encoded state ${kb(state.length)}`)
console.log(`one version stored: ${kb(packed.length)} (deflate-raw, ${(state.length / packed.length).toFixed(2)}x; ${packMs.toFixed(1)} ms on the thread pool, first call)`)
console.log(`SQLite file growth over ${VERSIONS} versions: ${kb((after - before) / VERSIONS)} per version`)
