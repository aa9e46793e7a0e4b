// Root cause: the loader only checked that each stored row DECODES (Y.decodeUpdate), merged them
// all and applied the result. Rows an older server accepted before admission applied updates —
// a 10,000-deep Y.Array followed by the 7-byte delete of its outermost element (Yjs overflows the
// stack applying it), a delete set of ~1 MiB of ranges on a client that never existed (Yjs keeps
// it pending forever) — decode fine, so the room loaded into a document that throws on first use
// (every joiner's sync threw too) or that carries the pending part into every state it serves.
// Expected (docs/architecture.md, "Nothing is stored that cannot be integrated", and the loader's
// own rule: an unreadable row never stops a room from opening): the offending rows are
// quarantined (moved to the quarantine table, counted in tandem_quarantined_rows_total), the rest
// of the document loads, the room accepts writes, and its state applies in a fresh Y.Doc with
// nothing pending.
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { tempDir } from '../helpers/server.js'
import { createSqliteStore } from '../../src/store/sqlite.js'
import { bigDeleteSet, deepNesting, deleteOnly } from './v1.js'
import { assertCleanState, assertRoomWritable, counter, DocClient, Servers, storedRows } from './harness.js'

const DEEP_CLIENT = 1000
const GHOST = 987_654_321

const servers = new Servers()
const cleanup: Array<() => void> = []
afterEach(async () => {
  for (const c of cleanup.splice(0)) c()
  await servers.closeAll()
})

/** Writes rows straight into the SQLite store, as an older server that validated less would have. */
async function writeRows(dataDir: string, room: string, rows: Uint8Array[]): Promise<number[]> {
  const store = createSqliteStore({ dataDir, synchronous: 'NORMAL', checkpointIntervalMs: 0 })
  try {
    const seqs: number[] = []
    for (const update of rows) seqs.push(...(await store.append([{ room, update }])))
    return seqs
  } finally {
    await store.close()
  }
}

describe('heal on load: rows an older server stored without trial-applying them', () => {
  it('the poisoned delete and the unresolvable delete set are quarantined; the normal rows load; the room writes; the state is clean', { timeout: 60_000 }, async () => {
    const room = 'legacy'
    const normal = new Y.Doc()
    normal.clientID = 5
    const normalRows: Uint8Array[] = []
    normal.on('update', (u: Uint8Array) => normalRows.push(u))
    normal.getText('t').insert(0, 'hello ')
    normal.getText('t').insert(6, 'world')

    const dataDir = tempDir()
    const [helloSeq, deepSeq, deleteSeq, ghostSeq, worldSeq] = await writeRows(dataDir, room, [
      normalRows[0]!,
      deepNesting({ client: DEEP_CLIENT, depth: 10_000 }),
      deleteOnly(DEEP_CLIENT, [[0, 1]]),
      bigDeleteSet(GHOST, 1_000_000),
      normalRows[1]!,
    ])

    const env = { DATA_DIR: dataDir }
    let s = await servers.start(env)
    // Loading the room (the state endpoint acquires it) must not serve what cannot be applied.
    const state = await assertCleanState(s.url, room)
    expect(state.getText('t').toString()).toBe('hello world')

    const quarantined = storedRows(dataDir, room).quarantine.map((r) => r.seq)
    // The delete Yjs throws on and the delete set that can never resolve must be set aside; the
    // deep array may be too (it is deeper than MAX_NESTING_DEPTH, 128 by default), the normal rows never.
    expect(quarantined).toContain(deleteSeq)
    expect(quarantined).toContain(ghostSeq)
    expect(quarantined).not.toContain(helloSeq)
    expect(quarantined).not.toContain(worldSeq)
    expect(quarantined.every((seq) => [deepSeq, deleteSeq, ghostSeq].includes(seq))).toBe(true)
    expect(await counter(s, 'tandem_quarantined_rows_total')).toBe(quarantined.length)
    const left = storedRows(dataDir, room)
    for (const row of [...left.updates, ...left.snapshots]) {
      expect(Y.decodeUpdate(row.data).ds.clients.has(GHOST), `row ${row.seq} still holds the ghost's delete set`).toBe(false)
    }

    // A stock client joins and syncs without Yjs throwing; the room takes writes.
    const joiner = await DocClient.open(s.wsUrl, room)
    cleanup.push(() => joiner.close())
    expect(joiner.text()).toBe('hello world')
    expect(joiner.doc.store.pendingDs).toBeNull()
    expect(joiner.doc.store.pendingStructs).toBeNull()
    await assertRoomWritable(s.wsUrl, room)
    joiner.close()

    // Healed for good: the next start loads it without quarantining anything again.
    s = await servers.restart(s, env)
    expect((await assertCleanState(s.url, room)).getText('t').toString()).toBe('hello world')
    expect(await counter(s, 'tandem_quarantined_rows_total')).toBe(0)
    expect(storedRows(dataDir, room).quarantine.map((r) => r.seq)).toEqual(quarantined)
    await assertRoomWritable(s.wsUrl, room)
  })
})
