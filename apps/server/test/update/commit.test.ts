import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Y from 'yjs'
import { afterEach, describe, expect, it } from 'vitest'
import { createCommitter, type Arrival, type CommitRoom, type RoomCommit, type UpdateSender } from '../../src/update/commit.js'
import { LOAD_ORIGIN } from '../../src/room/tx-origins.js'
import { createMetrics } from '../../src/metrics.js'
import { createLogger } from '../../src/log.js'
import { createSqliteStore } from '../../src/store/sqlite.js'
import type { AppendEntry, DocStore } from '../../src/store/types.js'
import { typist } from '../helpers/yjs.js'

/** A sender the test can tell apart by id (no socket behind it). */
const sender = (id: string): UpdateSender & { id: string } => ({ id, txOrigin: LOAD_ORIGIN, acks: undefined, send: () => {}, close: () => {} })

/** A room that records what the commit asks of it; `integrate` merges like the real gate does. */
function recordingRoom(name: string, calls: string[], committed: { room: string; committed: RoomCommit }[], failed?: string[]): CommitRoom {
  return {
    name,
    // The room's gate (update/integrate.ts) decides the row; this stand-in merges like it does.
    integrate: (c) => {
      calls.push(`integrate ${name}`)
      c.update = c.arrivals.length === 1 ? c.arrivals[0]!.update : Y.mergeUpdates(c.arrivals.map((a) => a.update))
      return true
    },
    relay: () => {
      if (failed) expect.fail('nothing was stored, nothing may be relayed')
      calls.push(`relay ${name}`)
    },
    committed: (c) => {
      if (failed) expect.fail('nothing was stored, nothing may be applied')
      calls.push(`apply ${name}`)
      committed.push({ room: name, committed: c })
    },
    failed: (arrivals) => {
      if (!failed) expect.fail('nothing may fail here')
      failed.push(`${name}:${arrivals.length}`)
    },
  }
}

const arrival = (room: CommitRoom, update: Uint8Array, from: UpdateSender, message: number): Arrival => ({ room, update, info: INFO, from, message, frame: undefined })

/** A real SQLite store that also records each append call, to see what one commit wrote. */
function recordingStore(dir: string): { store: DocStore; appends: AppendEntry[][] } {
  const inner = createSqliteStore({ dataDir: dir, synchronous: 'NORMAL' })
  const appends: AppendEntry[][] = []
  return {
    appends,
    store: {
      ...inner,
      append: (entries) => {
        appends.push([...entries])
        return inner.append(entries)
      },
      close: () => inner.close(),
    },
  }
}

/** What the arrival check reports for a small typing update. */
const INFO = { hasContent: true, structs: 1, types: 0 }

describe('group commit', () => {
  let dir = ''
  let close: (() => Promise<void>) | undefined
  afterEach(async () => {
    await close?.()
    close = undefined
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it("stores ONE merged row per room per commit and hands each room its entries, in arrival order", async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-commit-'))
    const { store, appends } = recordingStore(dir)
    close = () => store.close()
    const applied: { room: string; committed: RoomCommit }[] = []
    const calls: string[] = []
    const committer = createCommitter(store, createMetrics(), createLogger('silent'))
    const a = recordingRoom('a', calls, applied)
    const b = recordingRoom('b', calls, applied)
    const alice = sender('alice')
    const bob = sender('bob')
    const ta = typist(1)
    const tb = typist(2)
    const tc = typist(3)

    // One event-loop turn: three updates for room a (two writers), one for room b.
    committer.enqueue(arrival(a, ta('x'), alice, 1))
    committer.enqueue(arrival(b, tc('z'), alice, 2))
    committer.enqueue(arrival(a, tb('y'), bob, 1))
    committer.enqueue(arrival(a, ta('x'), alice, 3))
    await committer.flushed()

    // One transaction, one row per room.
    expect(appends).toHaveLength(1)
    expect(appends[0]!.map((e) => e.room)).toEqual(['a', 'b'])
    expect(applied.map((x) => x.room)).toEqual(['a', 'b'])
    // Every room integrates before the one append; every room's peers get the commit before any
    // room's after-commit work (acknowledgements, fan-out, compaction).
    expect(calls).toEqual(['integrate a', 'integrate b', 'relay a', 'relay b', 'apply a', 'apply b'])
    const roomA = applied[0]!.committed
    expect(roomA.arrivals.map((e) => [(e.from as { id: string } | undefined)?.id, e.message])).toEqual([
      ['alice', 1],
      ['bob', 1],
      ['alice', 3],
    ])
    // The stored row is what was relayed: all three updates.
    const doc = new Y.Doc()
    Y.applyUpdate(doc, roomA.update)
    expect(doc.getText('t').toString()).toHaveLength(3)
    expect([...doc.getText('t').toString()].sort().join('')).toBe('xxy')

    // And it is what the store returns, under the seq the room was told.
    const loaded = await store.load('a')
    expect(loaded.updates.map((r) => r.seq)).toEqual([roomA.seq])
    expect(Buffer.from(loaded.updates[0]!.data).equals(Buffer.from(roomA.update))).toBe(true)
    // A lone update is stored as it arrived, without a merge.
    expect(applied[1]!.committed.arrivals).toHaveLength(1)
    expect(applied[1]!.committed.update).toBe(applied[1]!.committed.arrivals[0]!.update)
  })

  it('a failed append stores nothing and tells every room of the commit', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-commit-'))
    const { store } = recordingStore(dir)
    await store.close() // a closed database: append throws
    const failed: string[] = []
    const committer = createCommitter(store, createMetrics(), createLogger('silent'))
    const t = typist(1)
    const a = recordingRoom('a', [], [], failed)
    const b = recordingRoom('b', [], [], failed)
    const c = sender('c')
    committer.enqueue(arrival(a, t('1'), c, 1))
    committer.enqueue(arrival(b, t('2'), c, 2))
    committer.enqueue(arrival(a, t('3'), c, 3))
    await committer.flushed()
    expect(failed).toEqual(['a:2', 'b:1'])
  })
})
