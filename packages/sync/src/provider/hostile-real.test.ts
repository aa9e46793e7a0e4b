/**
 * SyncProvider against a hostile server over a real `ws` socket, and a hostile tab on Node's
 * BroadcastChannel, with an uncaughtException probe: the client survives, drops what it must,
 * and resyncs.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import WebSocket, { WebSocketServer } from 'ws'
import { writeAwareness, writeSyncStep2, writeSyncUpdate } from '../protocol/frame.js'
import { SyncProvider } from './provider.js'
import { FakeSocket, peers, text, useHostileFakes } from './testing/hostile-fakes.js'
import { HOSTILE_UPDATE, awarenessUpdate, deepArray, textUpdate } from './testing/hostile-payloads.js'

useHostileFakes()

// ---------------------------------------------------------------------------------------------
// Real sockets, a real BroadcastChannel: nothing reaches process 'uncaughtException'.

describe('over a real `ws` socket and a real BroadcastChannel', () => {
  beforeEach(() => {
    vi.useRealTimers()
  })

  const cleanups: (() => void | Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  /** Collects what would otherwise crash the process (vitest also reports it as unhandled). */
  function uncaughtProbe(): unknown[] {
    const seen: unknown[] = []
    const listener = (error: unknown): void => void seen.push(error)
    process.on('uncaughtException', listener)
    cleanups.push(() => void process.off('uncaughtException', listener))
    return seen
  }

  async function until(what: string, predicate: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 5))
    }
  }

  it('a hostile server: deep presence, an unusable update, a mixed awareness frame; the client survives and resyncs', async () => {
    const uncaught = uncaughtProbe()
    let connections = 0
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await new Promise<void>((resolve) => wss.once('listening', resolve))
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const ws of wss.clients) ws.terminate()
          wss.close(() => resolve())
        }),
    )
    wss.on('connection', (ws) => {
      connections++
      if (connections === 1) {
        ws.send(writeSyncStep2(Y.encodeStateAsUpdate(new Y.Doc())))
        ws.send(writeAwareness(awarenessUpdate([{ id: 601, clock: 1, state: deepArray(30_000) }])))
        ws.send(writeAwareness(awarenessUpdate([{ id: 601, clock: 2, state: deepArray(30_000) }])))
        ws.send(writeSyncUpdate(HOSTILE_UPDATE))
      } else {
        ws.send(writeSyncStep2(textUpdate('after the attack')))
        ws.send(
          writeAwareness(
            awarenessUpdate([
              { id: 602, clock: 2 ** 53, state: '{}' },
              { id: 603, clock: 1, state: '{"ok":true}' },
            ]),
          ),
        )
      }
    })
    const address = wss.address()
    if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
    const provider = new SyncProvider({
      url: `ws://127.0.0.1:${address.port}`,
      room: 'hostile',
      doc: new Y.Doc({ gc: false }),
      WebSocket,
      initialBackoffMs: 20,
      maxBackoffMs: 200,
    })
    cleanups.push(() => provider.destroy())
    await until('the second connection to sync', () => text(provider) === 'after the attack' && provider.awareness.getStates().has(603))
    expect(uncaught).toEqual([])
    expect(connections).toBe(2)
    expect(peers(provider)).toEqual([603])
    expect(provider.status).toBe('connected')
  })

  it('a hostile tab on Node\'s BroadcastChannel: deep presence and an unusable update are dropped', async () => {
    const uncaught = uncaughtProbe()
    const room = `hostile-tabs-${process.pid}`
    const provider = new SyncProvider({
      url: 'ws://tabs.test',
      room,
      doc: new Y.Doc({ gc: false }),
      WebSocket: FakeSocket,
      crossTab: true,
      connect: false,
    })
    cleanups.push(() => provider.destroy())
    const dropped: string[] = []
    provider.on('message-dropped', (error) => dropped.push(error.reason))
    const intruder = new BroadcastChannel(`tandem-sync ws://tabs.test ${room}`)
    cleanups.push(() => intruder.close())
    intruder.postMessage({ v: 1, t: 'awareness', update: awarenessUpdate([{ id: 701, clock: 1, state: deepArray(30_000) }]) })
    intruder.postMessage({ v: 1, t: 'awareness', update: awarenessUpdate([{ id: 701, clock: 2, state: deepArray(30_000) }]) })
    intruder.postMessage({ v: 1, t: 'update', update: HOSTILE_UPDATE, relay: true })
    intruder.postMessage({ v: 1, t: 'update', update: textUpdate('marker'), relay: false })
    await until('the message after the junk', () => text(provider) === 'marker')
    expect(uncaught).toEqual([])
    expect(dropped).toEqual(['awareness-depth', 'awareness-depth', 'invalid-update'])
  })
})
