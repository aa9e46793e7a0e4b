import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Y from 'yjs'
import { afterEach, describe, expect, it } from 'vitest'
import { createCommitter, type CommittedRoom, type PendingUpdate } from '../../src/update/commit.js'
import { createMetrics } from '../../src/metrics.js'
import { createLogger } from '../../src/log.js'
import { createSqliteStore } from '../../src/store/sqlite.js'
import type { AppendEntry, DocStore } from '../../src/store/types.js'
import { typist } from '../helpers/yjs.js'

interface R {
  name: string
}
interface C {
  id: string
}

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
    const applied: { room: string; committed: CommittedRoom<R, C> }[] = []
    const calls: string[] = []
    const committer = createCommitter<R, C>(
      store,
      {
        // The room's gate (update-gate.ts) decides the row; this stand-in merges like it does.
        integrate: (room, c) => {
          calls.push(`integrate ${room.name}`)
          c.update = c.entries.length === 1 ? c.entries[0]!.update : Y.mergeUpdates(c.entries.map((e) => e.update))
          return true
        },
        relayCommitted: (room) => calls.push(`relay ${room.name}`),
        applyCommitted: (room, committed) => {
          calls.push(`apply ${room.name}`)
          applied.push({ room: room.name, committed })
        },
        commitFailed: () => expect.fail('nothing may fail here'),
      },
      createMetrics(),
      createLogger('silent'),
    )
    const a: R = { name: 'a' }
    const b: R = { name: 'b' }
    const alice: C = { id: 'alice' }
    const bob: C = { id: 'bob' }
    const ta = typist(1)
    const tb = typist(2)
    const tc = typist(3)

    // One event-loop turn: three updates for room a (two writers), one for room b.
    committer.enqueue(a, ta('x'), alice, undefined, 1, INFO)
    committer.enqueue(b, tc('z'), alice, undefined, 2, INFO)
    committer.enqueue(a, tb('y'), bob, undefined, 1, INFO)
    committer.enqueue(a, ta('x'), alice, undefined, 3, INFO)
    await committer.flushed()

    // One transaction, one row per room.
    expect(appends).toHaveLength(1)
    expect(appends[0]!.map((e) => e.room)).toEqual(['a', 'b'])
    expect(applied.map((x) => x.room)).toEqual(['a', 'b'])
    // Every room's peers get the commit before any room integrates it.
    expect(calls).toEqual(['integrate a', 'integrate b', 'relay a', 'relay b', 'apply a', 'apply b'])
    const roomA = applied[0]!.committed
    expect(roomA.entries.map((e: PendingUpdate<R, C>) => [e.origin?.id, e.ack])).toEqual([
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
    expect(applied[1]!.committed.entries).toHaveLength(1)
    expect(applied[1]!.committed.update).toBe(applied[1]!.committed.entries[0]!.update)
  })

  it('a failed append stores nothing and tells every room of the commit', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-commit-'))
    const { store } = recordingStore(dir)
    await store.close() // a closed database: append throws
    const failed: string[] = []
    const committer = createCommitter<R, C>(
      store,
      {
        integrate: () => true,
        relayCommitted: () => expect.fail('nothing was stored, nothing may be relayed'),
        applyCommitted: () => expect.fail('nothing was stored, nothing may be applied'),
        commitFailed: (room, entries) => failed.push(`${room.name}:${entries.length}`),
      },
      createMetrics(),
      createLogger('silent'),
    )
    const t = typist(1)
    const a: R = { name: 'a' }
    const b: R = { name: 'b' }
    const c: C = { id: 'c' }
    committer.enqueue(a, t('1'), c, undefined, 1, INFO)
    committer.enqueue(b, t('2'), c, undefined, 2, INFO)
    committer.enqueue(a, t('3'), c, undefined, 3, INFO)
    await committer.flushed()
    expect(failed).toEqual(['a:2', 'b:1'])
  })
})
