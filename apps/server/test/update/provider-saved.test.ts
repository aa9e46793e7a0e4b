/**
 * SyncProvider's "saved" indicator against the REAL server: unsavedChanges only returns to 0,
 * and 'saved' only fires, after the server's store committed the edit; offline edits and a
 * server restart mid-flight end saved with the edit in the store; a stock y-websocket client in
 * the same room is unaffected and never sees the extension's message.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { MessageType } from '@tandem/sync'
import { type SavedState, SyncProvider } from '@tandem/sync/provider'
import { removeDir, startServer, tempDir, type RunningServer } from '../helpers/server.js'
import { synced, text, yws } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { SECRET, token } from '../helpers/auth.js'
import type { DocStore } from '../../src/store/types.js'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
  vi.restoreAllMocks()
})

/** A store whose appends can be held ("the disk is slow"), then released or failed. */
function gatedStore() {
  let gate: { promise: Promise<void>; open(): void; fail(err: Error): void } | undefined
  const counts = { started: 0, committed: 0 }
  let inner: DocStore | undefined
  return {
    counts,
    /** the real store (for reading what is durably there) */
    store(): DocStore {
      if (inner === undefined) throw new Error('the server has not started')
      return inner
    },
    wrap: (store: DocStore): DocStore => {
      inner = store
      return {
        ...store,
        kind: store.kind,
        append: async (entries) => {
          counts.started++
          if (gate) await gate.promise
          const seqs = await store.append(entries)
          counts.committed += entries.length
          return seqs
        },
      }
    },
    hold(): void {
      let open!: () => void
      let fail!: (err: Error) => void
      const promise = new Promise<void>((resolve, reject) => {
        open = resolve
        fail = reject
      })
      gate = { promise, open, fail }
    },
    release(): void {
      gate?.open()
      gate = undefined
    },
    fail(err: Error): void {
      gate?.fail(err)
      gate = undefined
    },
  }
}

/** The room's text as the store holds it (snapshot + log), independent of any server's memory. */
async function storedText(store: DocStore, room: string): Promise<string> {
  const { snapshot, updates } = await store.load(room)
  const doc = new Y.Doc()
  if (snapshot) Y.applyUpdate(doc, snapshot.data)
  for (const row of updates) Y.applyUpdate(doc, row.data)
  return text(doc)
}

function ours(wsUrl: string, room: string, extra: { token?: () => Promise<string> } = {}) {
  const doc = new Y.Doc()
  const provider = new SyncProvider({ url: wsUrl, room, doc, WebSocket, initialBackoffMs: 20, maxBackoffMs: 200, ...extra })
  cleanup.push(() => provider.destroy())
  let savedEvents = 0
  provider.on('saved', () => savedEvents++)
  return { doc, provider, savedEvents: () => savedEvents }
}

/** Resolves on the provider's next 'saved' event; rejects after `ms`. */
function nextSaved(provider: SyncProvider, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      provider.off('saved', done)
      reject(new Error(`no 'saved' within ${ms} ms (unsavedChanges ${provider.unsavedChanges}, ${provider.status})`))
    }, ms)
    const done = (): void => {
      clearTimeout(timer)
      provider.off('saved', done)
      resolve()
    }
    provider.on('saved', done)
  })
}

async function server(env: Record<string, string> = {}, wrapStore?: (s: DocStore) => DocStore): Promise<RunningServer> {
  const s = await startServer(env, wrapStore ? { wrapStore } : {})
  cleanup.push(() => s.close())
  return s
}

const ready = (p: SyncProvider, state: SavedState = 'supported') =>
  until(() => p.synced && p.savedState === state, `synced, savedState ${state}`)

describe('SyncProvider "saved" against the real server', () => {
  it('counts an edit as unsaved until the store committed it, and only then says saved', async () => {
    const g = gatedStore()
    const s = await server({}, g.wrap)
    const a = ours(s.wsUrl, 'held')
    const witness = yws(s.wsUrl, 'held')
    cleanup.push(witness.destroy)
    await ready(a.provider)
    await synced(witness.provider)
    expect(a.provider.unsavedChanges).toBe(0)

    const counts: number[] = []
    a.provider.on('unsaved-changes', (n) => counts.push(n))
    let committedWhenSaved: number | undefined
    a.provider.on('saved', () => (committedWhenSaved ??= g.counts.committed))
    g.hold()
    const started = g.counts.started
    a.doc.getText('t').insert(0, 'hello')
    expect(a.provider.unsavedChanges).toBe(1)
    await until(() => g.counts.started > started, 'the server to start storing the edit')

    // A frame the server sends after it received the edit: once it arrived, so would have any
    // acknowledgement sent on receipt (one TCP stream, in order). None may exist yet.
    witness.provider.awareness.setLocalStateField('user', { name: 'probe' })
    await until(() => [...a.provider.awareness.getStates().values()].some((st) => (st.user as { name?: string } | undefined)?.name === 'probe'), 'the probe')
    expect(a.provider.unsavedChanges).toBe(1)
    expect(a.savedEvents()).toBe(0)
    expect(text(witness.doc)).toBe('') // not relayed either: stored first

    const saved = nextSaved(a.provider)
    const committed = g.counts.committed
    g.release()
    await saved
    expect(committedWhenSaved).toBeGreaterThan(committed)
    expect(a.provider.unsavedChanges).toBe(0)
    expect(counts).toEqual([1, 0])
    expect(await storedText(g.store(), 'held')).toBe('hello')
  })

  it('keeps edits made offline counted, and saves them after reconnecting', async () => {
    const g = gatedStore()
    const s = await server({}, g.wrap)
    const a = ours(s.wsUrl, 'offline')
    await ready(a.provider)
    a.provider.disconnect()
    for (const word of ['one ', 'two ', 'three ']) a.doc.getText('t').insert(a.doc.getText('t').length, word)
    expect(a.provider.unsavedChanges).toBe(3)
    expect(await storedText(g.store(), 'offline')).toBe('')

    const saved = nextSaved(a.provider)
    a.provider.connect()
    await saved
    expect(a.provider.unsavedChanges).toBe(0)
    expect(a.savedEvents()).toBe(1)
    expect(await storedText(g.store(), 'offline')).toBe('one two three ')
  })

  it.each([
    ['after storing it', false],
    ['before storing it', true],
  ])('after a server restart mid-flight (the dying server closes %s, before the ack) ends saved, the edit in the store', async (_what, loseIt) => {
    const dataDir = tempDir()
    cleanup.push(() => removeDir(dataDir))
    const g1 = gatedStore()
    const first = await startServer({ DATA_DIR: dataDir }, { wrapStore: g1.wrap })
    cleanup.push(() => first.close())
    const a = ours(first.wsUrl, 'restart')
    await ready(a.provider)

    g1.hold()
    const started = g1.counts.started
    a.doc.getText('t').insert(0, 'survives')
    await until(() => g1.counts.started > started, 'the edit to reach the store')
    const closing = first.close() // clients are told 1001 at once; the commit is still held
    await until(() => a.provider.status !== 'connected', 'the client to notice')
    if (loseIt) g1.fail(new Error('crashed before the commit'))
    else g1.release()
    await closing
    expect(a.provider.unsavedChanges).toBe(1)
    expect(a.savedEvents()).toBe(0)

    const saved = nextSaved(a.provider, 20_000)
    const g2 = gatedStore()
    await server({ DATA_DIR: dataDir, PORT: String(first.port) }, g2.wrap)
    await saved
    expect(a.provider.unsavedChanges).toBe(0)
    expect(await storedText(g2.store(), 'restart')).toBe('survives')
    // Lost by the first server means re-sent by the client's step 2 and stored by the second.
    expect(g2.counts.committed > 0).toBe(loseIt)
  })

  it('a read-only connection gets no acknowledgements: savedState says so instead of pretending', async () => {
    const s = await server({ AUTH_SECRET: SECRET })
    const viewer = ours(s.wsUrl, 'doc', { token: () => token({ access: 'read' }) })
    await ready(viewer.provider, 'unsupported')
    const writer = ours(s.wsUrl, 'doc', { token: () => token({ access: 'write' }) })
    await ready(writer.provider, 'supported')
  })

  it('a stock y-websocket client in the same room works and never receives the Saved message', async () => {
    const s = await server()
    const errors = vi.spyOn(console, 'error')
    const stock = yws(s.wsUrl, 'mixed')
    cleanup.push(stock.destroy)
    // y-websocket looks up provider.messageHandlers[type] for every frame: record each type.
    const types = new Set<number>()
    stock.provider.messageHandlers = new Proxy(stock.provider.messageHandlers, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) types.add(Number(key))
        return Reflect.get(target, key, receiver) as unknown
      },
    })
    const a = ours(s.wsUrl, 'mixed')
    await ready(a.provider)
    await synced(stock.provider)

    const saved = nextSaved(a.provider)
    a.doc.getText('t').insert(0, 'ours ')
    await saved // the server does send Saved in this room, to the client that asked
    stock.doc.getText('t').insert(0, 'stock ')
    await until(() => text(a.doc) === text(stock.doc) && text(a.doc).length === 11, 'convergence')
    stock.provider.awareness.setLocalStateField('user', { name: 'stock' })
    a.provider.awareness.setLocalStateField('user', { name: 'ours' })
    await until(() => [...stock.provider.awareness.getStates().values()].some((st) => (st.user as { name?: string } | undefined)?.name === 'ours'), 'awareness at stock')

    expect(types.has(MessageType.Sync)).toBe(true) // the spy sees what the stock client handles
    expect(types.has(MessageType.Saved)).toBe(false)
    expect(errors).not.toHaveBeenCalled() // y-websocket logs "Unable to compute message" for unknown types
  })
})
