// Root cause: Yjs deletes (and garbage-collects) a nested shared type recursively —
// Item.delete → ContentType.delete → Item.delete … — so deleting the outermost element of a
// Y.Array nested ~10,000 deep overflows the stack inside Y.applyUpdate. The deep update (~70 KB)
// and the delete (7 bytes) each decode fine, and the server only decoded (Y.decodeUpdate) before
// storing and relaying: it stored the delete, relayed it (every client that applied it threw),
// then threw applying it itself (1011). From then on every load merged the deep array with its
// delete and threw: the room was bricked for good, on this server and after any restart.
// The rule (docs/architecture.md, "Nothing is stored that cannot be integrated"): nesting past
// MAX_NESTING_DEPTH (default 128) → 1007 `too-deep`; an update Yjs throws on → 1007
// `invalid-update`, nothing of it stored or relayed.
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { RunningServer } from '../helpers/server.js'
import { deepNesting, deleteOnly } from './v1.js'
import { assertCleanState, assertRoomWritable, Bystander, DocClient, RawClient, Servers, storedRows } from './harness.js'

const DEPTH = 10_000
/** 2 bytes as a varUint: the delete is 7 bytes, as in the report */
const ATTACKER = 1000

const servers = new Servers()
const cleanup: Array<() => void> = []
afterEach(async () => {
  for (const c of cleanup.splice(0)) c()
  await servers.closeAll()
})

/** How deep the first element of root array `a` nests, walked without recursion. */
function arrayDepth(doc: Y.Doc): number {
  let a: unknown = doc.getArray('a')
  let n = 0
  while (a instanceof Y.Array && a.length > 0) {
    a = a.get(0)
    n++
  }
  return n
}

/** No stored row (log or snapshot) of `room` holds a struct or a deletion of `client`. */
function storesNothingOf(s: RunningServer, room: string, client: number): void {
  const rows = storedRows(s.dataDir, room)
  for (const row of [...rows.updates, ...rows.snapshots]) {
    const u = Y.decodeUpdate(row.data)
    expect(u.ds.clients.has(client), `stored row ${row.seq} deletes something of client ${client}`).toBe(false)
  }
}

async function writer(s: RunningServer, room: string, text: string): Promise<DocClient> {
  const c = await DocClient.open(s.wsUrl, room)
  cleanup.push(() => c.close())
  c.doc.getText('t').insert(0, text)
  return c
}

describe('poisoned update: a deep Y.Array and a 7-byte delete of its outermost element', () => {
  it('the deep array is refused (1007 too-deep, MAX_NESTING_DEPTH 128): nothing stored, the room writes, restarts and serves a clean state', async () => {
    const deep = deepNesting({ client: ATTACKER, depth: DEPTH })
    expect(deep.length).toBeGreaterThan(60_000)
    expect(deep.length).toBeLessThan(80_000)
    const env = {}
    let s = await servers.start(env)
    const room = 'poison-default'
    const alice = await writer(s, room, 'before the attack')
    const watcher = await DocClient.open(s.wsUrl, room)
    cleanup.push(() => watcher.close())
    await watcher.raw.when(() => watcher.text() === 'before the attack', 'the first edit')

    const evil = await RawClient.open(s.wsUrl, room)
    cleanup.push(() => evil.close())
    evil.sendUpdate(deep)
    expect(await evil.closedWithin(10_000, 'the server to refuse the 10,000-deep array (close 1007 too-deep)')).toEqual({ code: 1007, reason: 'too-deep' })

    // Nothing of it reached the other clients, the store or the state.
    expect(watcher.applyError).toBeUndefined()
    expect(watcher.doc.getArray('a').length).toBe(0)
    expect(watcher.raw.isOpen && alice.raw.isOpen).toBe(true)
    for (const row of storedRows(s.dataDir, room).updates) {
      expect(Y.decodeUpdate(row.data).structs.some((st) => st.id.client === ATTACKER), `row ${row.seq} holds the deep array`).toBe(false)
    }
    const bystander = await Bystander.open(s.wsUrl)
    cleanup.push(() => bystander.close())
    await bystander.roundTrip()

    await assertRoomWritable(s.wsUrl, room)
    s = await servers.restart(s, env)
    const state = await assertCleanState(s.url, room)
    expect(state.getText('t').toString()).toBe('before the attack')
    expect(arrayDepth(state)).toBe(0)
    await assertRoomWritable(s.wsUrl, room)
  })

  it('with MAX_NESTING_DEPTH raised the deep array is accepted, and its delete is refused (1007: Yjs throws) without bricking the room', async () => {
    const env = { MAX_NESTING_DEPTH: String(4 * DEPTH) }
    let s = await servers.start(env)
    const room = 'poison-raised'
    const alice = await writer(s, room, 'before the attack')
    const watcher = await DocClient.open(s.wsUrl, room)
    cleanup.push(() => watcher.close())

    const builder = await RawClient.open(s.wsUrl, room)
    cleanup.push(() => builder.close())
    builder.sendUpdate(deepNesting({ client: ATTACKER, depth: DEPTH }))
    expect(await builder.barrier()).toBeUndefined()
    await watcher.raw.when(() => arrayDepth(watcher.doc) === DEPTH || watcher.applyError, 'the deep array relayed', 15_000)
    expect(watcher.applyError).toBeUndefined()

    const deleter = await RawClient.open(s.wsUrl, room)
    cleanup.push(() => deleter.close())
    const del = deleteOnly(ATTACKER, [[0, 1]])
    expect(del.length).toBe(7)
    deleter.sendUpdate(del)
    expect(await deleter.closedWithin(10_000, 'the server to refuse the delete (close 1007 invalid-update)')).toEqual({ code: 1007, reason: 'invalid-update' })

    // Not relayed (a client applying it would have thrown), not stored.
    await assertRoomWritable(s.wsUrl, room)
    expect(watcher.applyError).toBeUndefined()
    expect(watcher.raw.isOpen && alice.raw.isOpen && builder.isOpen).toBe(true)
    storesNothingOf(s, room, ATTACKER)
    const bystander = await Bystander.open(s.wsUrl)
    cleanup.push(() => bystander.close())
    await bystander.roundTrip()

    const live = await assertCleanState(s.url, room)
    expect(arrayDepth(live)).toBe(DEPTH)
    expect(live.getText('t').toString()).toBe('before the attack')

    s = await servers.restart(s, env)
    const reloaded = await assertCleanState(s.url, room)
    expect(arrayDepth(reloaded)).toBe(DEPTH)
    expect(reloaded.getText('t').toString()).toBe('before the attack')
    storesNothingOf(s, room, ATTACKER)
    await assertRoomWritable(s.wsUrl, room)
  })
})
