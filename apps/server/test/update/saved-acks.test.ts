import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { SAVED_ACK_PROTOCOL, readFrame, writeSyncStep2, writeSyncUpdate, type Frame } from '@tandem/sync'
import { startServer } from '../helpers/server.js'
import { closeOf } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import type { DocStore } from '../../src/store/types.js'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

/** A raw client that records every frame it receives. */
async function client(wsUrl: string, room: string, protocols: string[] = [SAVED_ACK_PROTOCOL]) {
  const ws = new WebSocket(`${wsUrl}/${room}`, protocols)
  const frames: Frame[] = []
  ws.on('message', (d: Buffer) => frames.push(readFrame(d)))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  cleanup.push(() => ws.terminate())
  const saved = () => frames.filter((f): f is Extract<Frame, { type: 'saved' }> => f.type === 'saved').map((f) => f.count)
  return { ws, frames, saved }
}

const update = (text: string) => {
  const d = new Y.Doc()
  d.getText('t').insert(0, text)
  return Y.encodeStateAsUpdate(d)
}

describe('"saved" acknowledgements (SAVED_ACK_PROTOCOL)', () => {
  it('says Saved(0) on connect, then acknowledges each update only after the store committed it', async () => {
    let release!: () => void
    let committed = 0
    const s = await startServer({}, {
      wrapStore: (store: DocStore): DocStore => ({
        ...store,
        kind: store.kind,
        append: async (entries) => {
          await new Promise<void>((r) => (release = r))
          const seqs = await store.append(entries)
          committed += entries.length
          return seqs
        },
      }),
    })
    cleanup.push(() => s.close())
    const c = await client(s.wsUrl, 'acks')
    expect(c.ws.protocol).toBe(SAVED_ACK_PROTOCOL)
    await until(() => c.saved().length === 1, 'hello')
    expect(c.saved()).toEqual([0])

    c.ws.send(writeSyncUpdate(update('one')))
    await until(() => release, 'append started')
    // Held in the store: no acknowledgement may exist yet.
    expect(c.saved()).toEqual([0])
    const ackSeenAfterCommit = new Promise<number>((resolve) =>
      c.ws.on('message', (d: Buffer) => {
        const f = readFrame(d)
        if (f.type === 'saved' && f.count === 1) resolve(committed)
      }),
    )
    release()
    expect(await ackSeenAfterCommit).toBe(1)
  })

  it('counts every update message in order, empty ones included, and acks cumulatively', async () => {
    const s = await startServer()
    cleanup.push(() => s.close())
    const c = await client(s.wsUrl, 'count')
    c.ws.send(writeSyncStep2(new Uint8Array([0, 0]))) // an empty step 2: nothing to store
    for (let i = 0; i < 20; i++) c.ws.send(writeSyncUpdate(update(`u${i}`)))
    c.ws.send(writeSyncStep2(new Uint8Array([0, 0])))
    await until(() => c.saved().at(-1) === 22, 'all 22 messages acknowledged')
    const counts = c.saved()
    expect([...counts].sort((a, b) => a - b)).toEqual(counts) // monotonic
    expect(new Set(counts).size).toBe(counts.length) // never repeated
  })

  it('a store failure is never acknowledged: the socket closes with 1011', async () => {
    const s = await startServer({}, {
      wrapStore: (store: DocStore): DocStore => ({
        ...store,
        kind: store.kind,
        append: async () => {
          throw new Error('disk full')
        },
      }),
    })
    cleanup.push(() => s.close())
    const c = await client(s.wsUrl, 'fail')
    const closed = closeOf(c.ws)
    c.ws.send(writeSyncUpdate(update('lost?')))
    expect((await closed).code).toBe(1011)
    expect(c.saved()).toEqual([0])
  })

  it('a client that did not offer the subprotocol never receives the extension', async () => {
    const s = await startServer()
    cleanup.push(() => s.close())
    const plain = await client(s.wsUrl, 'plain', [])
    const other = await client(s.wsUrl, 'plain', ['something-else', SAVED_ACK_PROTOCOL])
    expect(plain.ws.protocol).toBe('')
    expect(other.ws.protocol).toBe(SAVED_ACK_PROTOCOL)
    for (let i = 0; i < 5; i++) plain.ws.send(writeSyncUpdate(update(`p${i}`)))
    // The acked client seeing all five relayed proves the plain one's messages were processed.
    await until(() => other.frames.filter((f) => f.type === 'sync-update').length >= 1 && other.saved().length >= 1, 'relayed')
    await until(() => {
      const d = new Y.Doc()
      for (const f of other.frames) if (f.type === 'sync-update') Y.applyUpdate(d, f.update)
      return d.getText('t').length === 10
    }, 'all five relayed')
    expect(plain.frames.some((f) => f.type === 'saved')).toBe(false)
  })
})
