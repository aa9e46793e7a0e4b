import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { readFrame, writeSyncUpdate } from '@tandem/sync'
import { startServer, type RunningServer } from '../helpers/server.js'
import { until } from '../helpers/wait.js'
import { typist } from '../helpers/yjs.js'
import type { DocStore } from '../../src/store/types.js'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

/** A raw client that keeps the bytes of every sync update frame it receives. */
async function client(wsUrl: string, room: string) {
  const ws = new WebSocket(`${wsUrl}/${room}`)
  const updates: Buffer[] = []
  ws.on('message', (d: Buffer) => {
    if (readFrame(d).type === 'sync-update') updates.push(d)
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  cleanup.push(() => ws.terminate())
  return { ws, updates }
}

/** The Yjs client ids whose structs a sync-update frame carries. */
const writersIn = (frame: Buffer): number[] => {
  const f = readFrame(frame)
  if (f.type !== 'sync-update') throw new Error(`not an update: ${f.type}`)
  return [...new Set(Y.decodeUpdate(f.update).structs.map((s) => s.id.client))].sort()
}

async function syncMessagesIn(s: RunningServer): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text()
  const m = /^tandem_messages_in_total\{type="sync"\} (\d+)/m.exec(text)
  return m ? Number(m[1]) : 0
}

describe('relay', () => {
  it('a lone writer never gets its own update back; writers of one commit all get the same room frame', async () => {
    // A store whose appends can be held, to make several updates share one commit.
    let hold = false
    let release: (() => void) | undefined
    const s = await startServer({}, {
      wrapStore: (store: DocStore): DocStore => ({
        ...store,
        kind: store.kind,
        append: async (entries) => {
          if (hold) await new Promise<void>((r) => (release = r))
          return store.append(entries)
        },
      }),
    })
    cleanup.push(() => s.close())
    const a = await client(s.wsUrl, 'relay')
    const b = await client(s.wsUrl, 'relay')
    const c = await client(s.wsUrl, 'relay')
    const typeA = typist(1)
    const typeB = typist(2)

    // Alone in its commit: everyone else gets it, the sender does not.
    a.ws.send(writeSyncUpdate(typeA('a')))
    await until(() => c.updates.length === 1 && b.updates.length === 1, "A's update at B and C")
    b.ws.send(writeSyncUpdate(typeB('b')))
    await until(() => c.updates.length === 2 && a.updates.length === 1, "B's update at A and C")
    // A's first update frame is B's: its own was never echoed (it would have come first).
    expect(writersIn(a.updates[0]!)).toEqual([2])
    expect(writersIn(b.updates[0]!)).toEqual([1])

    // Hold a commit, and let A and B both write meanwhile: the next commit holds both.
    hold = true
    a.ws.send(writeSyncUpdate(typeA('a')))
    await until(() => release, 'the held append')
    const heldRelease = release!
    release = undefined
    a.ws.send(writeSyncUpdate(typeA('a')))
    b.ws.send(writeSyncUpdate(typeB('b')))
    await until(async () => (await syncMessagesIn(s)) === 5, 'both updates received by the server')
    hold = false
    heldRelease()

    await until(() => c.updates.length === 4, 'two more frames at C')
    await until(() => a.updates.length === 2 && b.updates.length === 3, 'the shared frame at A and B')
    // One frame for the commit of A's and B's updates, byte for byte the same for all three.
    const shared = c.updates[3]!
    expect(writersIn(shared)).toEqual([1, 2])
    expect(a.updates[1]!.equals(shared)).toBe(true)
    expect(b.updates[2]!.equals(shared)).toBe(true)
    // B also got A's held update on its own, and A still never got that one back.
    expect(writersIn(b.updates[1]!)).toEqual([1])
    expect(a.updates).toHaveLength(2)
  })
})
