import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Y from 'yjs'
import { afterEach, describe, expect, it } from 'vitest'
import { createCommitter, type Arrival, type CommitRoom, type UpdateSender } from '../../src/update/commit.js'
import { API_ORIGIN } from '../../src/room/tx-origins.js'
import { createMetrics } from '../../src/metrics.js'
import { createLogger } from '../../src/log.js'
import { createSqliteStore } from '../../src/store/sqlite.js'
import type { AppendEntry, DocStore } from '../../src/store/types.js'

/**
 * The commit's two hooks for updates the server writes itself (the HTTP API): `stored` is told
 * the row's seq once it is stored and relayed, and a conditional arrival (`expect`) is committed
 * in a row of its own, stored only if the room is still at the seq it expects.
 */

const sender: UpdateSender = { txOrigin: API_ORIGIN, acks: undefined, send: () => {}, close: () => {} }
const INFO = { hasContent: true, structs: 1, types: 0 }

function update(text: string): Uint8Array {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}

/** A room that merges its arrivals into the row and records what the commit told it. */
function room(name: string, log: string[]): CommitRoom {
  return {
    name,
    integrate: (c) => {
      c.update = c.arrivals.length === 1 ? c.arrivals[0]!.update : Y.mergeUpdates(c.arrivals.map((a) => a.update))
      log.push(`row ${name}:${c.arrivals.length}`)
      return true
    },
    relay: () => log.push(`relay ${name}`),
    committed: () => log.push(`committed ${name}`),
    failed: (arrivals) => log.push(`failed ${name}:${arrivals.length}`),
  }
}

describe('commit: stored hook and conditional arrivals', () => {
  let dir = ''
  let store: DocStore | undefined
  afterEach(async () => {
    await store?.close()
    store = undefined
    rmSync(dir, { recursive: true, force: true })
  })

  function setup() {
    dir = mkdtempSync(join(tmpdir(), 'tandem-commit-cond-'))
    const inner = createSqliteStore({ dataDir: dir, synchronous: 'NORMAL', checkpointIntervalMs: 0 })
    const appends: AppendEntry[][] = []
    store = { ...inner, append: (entries) => (appends.push([...entries]), inner.append(entries)), close: () => inner.close() }
    return { committer: createCommitter(store, createMetrics(), createLogger('silent')), appends }
  }

  it('stored(seq) comes after the row is relayed and committed; a conditional arrival is a row of its own, what follows it waits, in order', async () => {
    const { committer, appends } = setup()
    const log: string[] = []
    const r = room('r', log)
    const seqs: Record<string, number> = {}
    const arrive = (id: string, expect?: number): Arrival => ({
      room: r,
      update: update(id),
      info: INFO,
      from: sender,
      message: 0,
      frame: undefined,
      expect,
      stored: (seq) => {
        log.push(`stored ${id}`)
        seqs[id] = seq
      },
    })
    // One turn: a, then a conditional c (expects the room empty, but a comes first), then b.
    committer.enqueue(arrive('a'))
    committer.enqueue(arrive('c', 0))
    committer.enqueue(arrive('b'))
    await committer.flushed()

    expect(appends.map((entries) => entries.map((e) => e.ifLastSeq))).toEqual([[undefined], [0], [undefined]])
    expect(log).toEqual([
      'row r:1', 'relay r', 'committed r', 'stored a',
      // c expected an empty room: a is stored, so the store refuses it and the room rebuilds.
      'row r:1', 'stored c', 'failed r:1',
      'row r:1', 'relay r', 'committed r', 'stored b',
    ])
    expect(seqs.c).toBe(0)
    expect(seqs.b).toBeGreaterThan(seqs.a!)
    const stored = await store!.load('r')
    expect(stored.updates.map((u) => u.seq)).toEqual([seqs.a, seqs.b])

    // Expecting the room's real last seq, it is stored.
    committer.enqueue(arrive('d', seqs.b))
    await committer.flushed()
    expect(seqs.d).toBeGreaterThan(seqs.b!)
  })

  it("a refused conditional row fails only its own room; the commit's other rooms are stored", async () => {
    const { committer } = setup()
    const log: string[] = []
    const x = room('x', log)
    const y = room('y', log)
    await store!.append([{ room: 'x', update: update('already') }])
    const stored: Record<string, number> = {}
    committer.enqueue({ room: x, update: update('seed'), info: INFO, from: sender, message: 0, frame: undefined, expect: 0, stored: (s) => (stored.x = s) })
    committer.enqueue({ room: y, update: update('edit'), info: INFO, from: sender, message: 0, frame: undefined, stored: (s) => (stored.y = s) })
    await committer.flushed()
    expect(stored.x).toBe(0)
    expect(stored.y).toBeGreaterThan(0)
    expect(log).toEqual(['row x:1', 'row y:1', 'failed x:1', 'relay y', 'committed y'])
    expect((await store!.load('x')).updates).toHaveLength(1)
  })
})
