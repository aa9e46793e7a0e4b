// The room's document as the commit sees it (update/document.ts), driven through a real Room, a
// real commit queue and a real SQLite file: what happens to the OTHER arrivals of a commit when
// one of them makes Yjs throw, and when a parked part's "saved" acknowledgement is sent.
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { CloseCode, readFrame } from '@tandem/sync'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/log.js'
import { createMetrics } from '../../src/metrics.js'
import { createLocalFanout } from '../../src/fanout/types.js'
import { createSqliteStore } from '../../src/store/sqlite.js'
import type { DocStore } from '../../src/store/types.js'
import { createCommitter } from '../../src/update/commit.js'
import { AckTracker } from '../../src/update/acks.js'
import { inspectUpdate } from '../../src/update/inspect.js'
import { Room, type RoomPeer } from '../../src/room/room.js'
import { loadStoredState } from '../../src/room/stored-state.js'
import type { TxOrigin } from '../../src/room/tx-origins.js'
import type { RoomContext } from '../../src/room/context.js'
import { removeDir, tempDir } from '../helpers/server.js'
import { deepNesting, deleteOnly } from '../hostile/v1.js'

const DEPTH = 10_000
const ATTACKER = 1000

/** A connection as the room sees it, recording what happens to it (`log` is shared, in order). */
function peer(id: number, log: string[], saved = false): RoomPeer & { closed: { code: number; reason: string } | undefined } {
  const p = {
    id,
    access: 'write' as const,
    principal: undefined,
    author: undefined,
    txOrigin: Object.freeze({ kind: 'connection', id }) as TxOrigin,
    closed: undefined as { code: number; reason: string } | undefined,
    acks: saved
      ? new AckTracker((frame) => {
          const f = readFrame(frame)
          if (f.type === 'saved') log.push(`saved ${id} ${f.count}`)
        })
      : undefined,
    send: () => {},
    sendShared: () => true,
    rejectWrite: () => {},
    chargeStructs: () => {},
    close(code: number, reason: string) {
      p.closed ??= { code, reason }
      log.push(`closed ${id} ${code}`)
    },
  }
  return p
}

interface Harness {
  room: Room
  ctx: RoomContext
  log: string[]
  /** enqueues `update` from `from` as stage 1 would */
  send(from: RoomPeer, update: Uint8Array): void
  /** resolves when the queue, the commit in flight and any rebuild are over */
  idle(): Promise<void>
  stored(): Promise<Y.Doc>
}

let dir = ''
let store: DocStore | undefined
afterEach(async () => {
  await store?.close()
  store = undefined
  if (dir) removeDir(dir)
})

async function open(env: Record<string, string> = {}): Promise<Harness> {
  dir = tempDir('tandem-document-')
  const log: string[] = []
  const inner = createSqliteStore({ dataDir: dir, synchronous: 'NORMAL' })
  // The store records when each append is durable, to order "saved" against it.
  store = { ...inner, append: async (entries) => {
    const seqs = await inner.append(entries)
    log.push('stored')
    return seqs
  }, close: () => inner.close() }
  const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', ...env }, { editorDir: '' })
  const metrics = createMetrics()
  const logger = createLogger('silent')
  const ctx: RoomContext = { config, store, fanout: createLocalFanout(), committer: createCommitter(store, metrics, logger), metrics, log: logger }
  const room = new Room('doc', ctx, await loadStoredState('doc', ctx))
  return {
    room,
    ctx,
    log,
    send(from, update) {
      const info = inspectUpdate(update)
      const message = from.acks?.receive(true) ?? 0
      ctx.committer.enqueue({ room, update, info, from, message, frame: undefined })
    },
    async idle() {
      await ctx.committer.flushed()
      await room.encodeState() // waits for a rebuild, and for what it requeued
      await ctx.committer.flushed()
    },
    async stored() {
      const doc = new Y.Doc()
      Y.applyUpdate(doc, (await loadStoredState('doc', ctx)).update)
      return doc
    },
  }
}

/** An edit appending `text` to root text `t`, by `client`, or continuing `doc`'s editing. */
const textUpdate = (client: number, text: string, doc = Object.assign(new Y.Doc(), { clientID: client })): { update: Uint8Array; doc: Y.Doc } => {
  const sv = Y.encodeStateVector(doc)
  doc.getText('t').insert(doc.getText('t').length, text)
  return { update: Y.encodeStateAsUpdate(doc, sv), doc }
}

describe('one commit, one update that makes Yjs throw', () => {
  it('only its sender is closed (1007); the others of the same commit are integrated after the rebuild, stored and acknowledged', async () => {
    const h = await open({ MAX_NESTING_DEPTH: String(4 * DEPTH) })
    const builder = peer(1, h.log)
    h.send(builder, deepNesting({ client: ATTACKER, depth: DEPTH }))
    await h.idle()

    const deleter = peer(2, h.log)
    const writer = peer(3, h.log, true)
    // Same turn: one commit holds the delete that throws and, after it, an honest edit.
    h.send(deleter, deleteOnly(ATTACKER, [[0, 1]]))
    h.send(writer, textUpdate(7, 'still here').update)
    await h.idle()

    expect(deleter.closed).toEqual({ code: CloseCode.InvalidPayload, reason: 'invalid-update' })
    expect(writer.closed, 'the honest writer of the same commit stays connected').toBeUndefined()
    expect(h.log).toContain('saved 3 1')
    const stored = await h.stored()
    expect(stored.getText('t').toString()).toBe('still here')
    expect(stored.getArray('a').length, 'the deep array is still there: its delete was not stored').toBe(1)
    expect((await h.ctx.metrics.roomRebuilds.get()).values[0]?.value, 'the room was rebuilt once').toBe(1)
    h.room.destroy()
  })
})

describe('a parked part and its "saved" acknowledgement', () => {
  it('is acknowledged only after the row holding it is stored, not when it integrates', async () => {
    const h = await open()
    const first = textUpdate(7, 'a')
    const second = textUpdate(7, 'b', first.doc) // depends on the first
    const tab = peer(1, h.log, true)
    const other = peer(2, h.log, true)

    // Tabs of one browser: the edit that depends on another arrives first and is parked.
    h.send(tab, second.update)
    await h.idle()
    expect(h.log.filter((l) => l.startsWith('saved 1 ')), 'nothing acknowledged while parked').toEqual([])
    h.log.length = 0

    h.send(other, first.update)
    await h.idle()
    expect(tab.closed).toBeUndefined()
    const stored = h.log.indexOf('stored')
    const saved = h.log.indexOf('saved 1 1')
    expect(stored, `log: ${h.log.join(', ')}`).toBeGreaterThanOrEqual(0)
    expect(saved, `log: ${h.log.join(', ')}`).toBeGreaterThan(stored)
    expect((await h.stored()).getText('t').toString()).toBe('ab')
    h.room.destroy()
  })
})
