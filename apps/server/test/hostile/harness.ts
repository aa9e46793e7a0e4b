import { setFlagsFromString } from 'node:v8'
import { Worker } from 'node:worker_threads'
import { runInNewContext } from 'node:vm'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import * as Y from 'yjs'
import WebSocket from 'ws'
import * as awarenessProtocol from 'y-protocols/awareness'
import { readFrame, writeAwareness, writeSyncStep1FromStateVector, writeSyncStep2, writeSyncUpdate } from '@tandem/sync'
import { startServer, type RunningServer } from '../helpers/server.js'

/**
 * What the hostile-input tests share: raw clients that record how they were closed, the checks
 * that say a room is healthy (a stock client's write reaches another fresh client; the state
 * endpoint's bytes apply in a fresh Y.Doc with nothing pending), a bystander round trip, heap
 * readings after a full GC, and a look into the SQLite file.
 */

export interface CloseInfo {
  code: number
  reason: string
}

/** A raw `ws` client in one room: every frame it gets is recorded, and so is how it closed. */
export class RawClient {
  readonly frames: Uint8Array[] = []
  closeInfo: CloseInfo | undefined
  private pongs = 0
  readonly closed: Promise<CloseInfo>
  private listeners = new Set<() => void>()
  /** run on every frame, before anything waiting in `when` re-checks */
  readonly onFrame: Array<(frame: Uint8Array) => void> = []

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() }
        resolve(this.closeInfo)
        this.notify()
      })
    })
    ws.on('message', (data: Buffer) => {
      const frame = new Uint8Array(data)
      this.frames.push(frame)
      for (const h of this.onFrame) h(frame)
      this.notify()
    })
    ws.on('pong', () => {
      this.pongs++
      this.notify()
    })
    ws.on('error', () => {})
  }

  static async open(wsUrl: string, room: string, timeoutMs = 10_000): Promise<RawClient> {
    const ws = new WebSocket(`${wsUrl}/${encodeURIComponent(room)}`, { maxPayload: 512 * 1024 * 1024 })
    const c = new RawClient(ws)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`could not open a socket to room ${room} within ${timeoutMs} ms`)), timeoutMs)
      ws.once('open', () => {
        clearTimeout(timer)
        resolve()
      })
      ws.once('unexpected-response', (_req, res) => {
        clearTimeout(timer)
        reject(new Error(`upgrade to room ${room} refused with HTTP ${res.statusCode}`))
      })
      ws.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
    })
    return c
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN
  }

  send(frame: Uint8Array): void {
    if (this.isOpen) this.ws.send(frame)
  }

  /** Sends a Yjs update as a sync "update" message. */
  sendUpdate(update: Uint8Array): void {
    this.send(writeSyncUpdate(update))
  }

  private notify(): void {
    for (const l of this.listeners) l()
  }

  /** Resolves once `check` holds (re-checked on every frame, pong and close), or rejects after `timeoutMs`. */
  when<T>(check: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
    const now = check()
    if (now) return Promise.resolve(now)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(l)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
      }, timeoutMs)
      const l = () => {
        const v = check()
        if (!v) return
        clearTimeout(timer)
        this.listeners.delete(l)
        resolve(v)
      }
      this.listeners.add(l)
    })
  }

  /**
   * Every frame sent before this call has been handled by the server's synchronous path
   * (decode, validate, admit or refuse): a ping's pong comes back after them, since the server
   * reads a socket's frames in order. Resolves with the close if the socket closed instead.
   */
  async barrier(timeoutMs = 10_000): Promise<CloseInfo | undefined> {
    if (!this.isOpen) return this.closed
    const target = this.pongs + 1
    this.ws.ping()
    await this.when(() => this.pongs >= target || this.closeInfo !== undefined, 'a pong (or a close)', timeoutMs)
    return this.closeInfo
  }

  /** Waits for the close; rejects if the socket is still open after `timeoutMs`. */
  async closedWithin(timeoutMs: number, what = 'the server to close the socket'): Promise<CloseInfo> {
    await this.when(() => this.closeInfo !== undefined, what, timeoutMs)
    return this.closeInfo!
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate()
  }

  /** Closes and waits until the socket is gone (so what it referenced can be collected before a heap reading). */
  async closeAndWait(): Promise<void> {
    this.close()
    this.onFrame.length = 0
    if (this.ws.readyState !== WebSocket.CLOSED) await this.closed
  }
}

/**
 * A raw client that keeps a Y.Doc in step with the room, as y-websocket would (step 1 / step 2,
 * then updates), but catching what Yjs throws so a poisoned room fails a test with a message
 * rather than an uncaught exception in a socket handler.
 */
export class DocClient {
  readonly doc = new Y.Doc()
  /** what Yjs threw applying something the server sent */
  applyError: Error | undefined
  /** y-protocols awareness (when opened with a presence state): what it threw applying a relayed update */
  awareness: awarenessProtocol.Awareness | undefined
  awarenessError: Error | undefined
  synced = false

  private constructor(readonly raw: RawClient) {}

  /** `presence`: also keep a y-protocols Awareness with this local state, like y-websocket does. */
  static async open(wsUrl: string, room: string, opts: { timeoutMs?: number; presence?: Record<string, unknown> } = {}): Promise<DocClient> {
    const timeoutMs = opts.timeoutMs ?? 10_000
    const raw = await RawClient.open(wsUrl, room, timeoutMs)
    const c = new DocClient(raw)
    for (const f of raw.frames) c.onFrame(f)
    raw.onFrame.push((f) => c.onFrame(f))
    c.doc.on('update', (u: Uint8Array, origin: unknown) => {
      if (origin !== c) raw.send(writeSyncUpdate(u))
    })
    raw.send(writeSyncStep1FromStateVector(Y.encodeStateVector(c.doc)))
    if (opts.presence) {
      const aw = (c.awareness = new awarenessProtocol.Awareness(c.doc))
      aw.setLocalState(opts.presence)
      raw.send(writeAwareness(awarenessProtocol.encodeAwarenessUpdate(aw, [aw.clientID])))
    }
    await raw.when(() => c.synced || c.applyError || raw.closeInfo, `sync with room ${room}`, timeoutMs)
    if (c.applyError) throw new Error(`a fresh client could not apply room ${room}'s state: ${c.applyError.message}`)
    if (raw.closeInfo) throw new Error(`the server closed a fresh client of room ${room} during sync: ${raw.closeInfo.code} ${raw.closeInfo.reason}`)
    return c
  }

  private onFrame(bytes: Uint8Array): void {
    let f: ReturnType<typeof readFrame>
    try {
      f = readFrame(bytes)
    } catch {
      return
    }
    try {
      if (f.type === 'sync-step1') {
        this.raw.send(writeSyncStep2(Y.encodeStateAsUpdate(this.doc, f.stateVector)))
      } else if (f.type === 'sync-step2') {
        Y.applyUpdate(this.doc, f.update, this)
        this.synced = true
      } else if (f.type === 'sync-update') {
        Y.applyUpdate(this.doc, f.update, this)
      }
    } catch (err) {
      this.applyError ??= err as Error
    }
    if (f.type === 'awareness' && this.awareness) {
      try {
        awarenessProtocol.applyAwarenessUpdate(this.awareness, f.update, this)
      } catch (err) {
        this.awarenessError ??= err as Error
      }
    }
  }

  text(name = 't'): string {
    return this.doc.getText(name).toString()
  }

  close(): void {
    this.raw.close()
    this.awareness?.destroy()
    this.doc.destroy()
  }

  async closeAndWait(): Promise<void> {
    this.close()
    await this.raw.closeAndWait()
  }
}

let probeCount = 0

/**
 * A normal write: a fresh client (sync step 1/2, then an update) inserts a marker and another
 * fresh client must see it. Resolves with undefined when it did, or with the close the server
 * gave the writer (a refusal); throws on anything else (timeouts, a client that cannot apply
 * what the server sent, the reader closed).
 */
export async function tryRoomWrite(wsUrl: string, room: string, timeoutMs = 10_000): Promise<CloseInfo | undefined> {
  const marker = `probe-${process.pid}-${++probeCount}`
  const reader = await DocClient.open(wsUrl, room, { timeoutMs })
  const writer = await DocClient.open(wsUrl, room, { timeoutMs }).catch((err) => {
    reader.close()
    throw err
  })
  try {
    writer.doc.getText('probe').insert(0, marker)
    await reader.raw.when(
      () => reader.doc.getText('probe').toString().includes(marker) || reader.applyError || reader.raw.closeInfo || writer.raw.closeInfo,
      `room ${room}: a normal write reaching another fresh client`,
      timeoutMs,
    )
    if (writer.raw.closeInfo) return writer.raw.closeInfo
    if (reader.raw.closeInfo) throw new Error(`room ${room}: the reader was closed ${reader.raw.closeInfo.code} ${reader.raw.closeInfo.reason}`)
    if (reader.applyError) throw new Error(`room ${room}: a fresh client could not apply a relayed update: ${reader.applyError.message}`)
    return undefined
  } finally {
    await Promise.all([reader.closeAndWait(), writer.closeAndWait()])
  }
}

/** The room accepts a normal write (see tryRoomWrite); throws with what went wrong. */
export async function assertRoomWritable(wsUrl: string, room: string, timeoutMs = 10_000): Promise<void> {
  const refused = await tryRoomWrite(wsUrl, room, timeoutMs)
  if (refused) throw new Error(`room ${room} refused a normal write: closed ${refused.code} ${refused.reason}`)
}

/** Structs a Y.Doc holds (items, deleted items, GC runs), as its store lists them. */
export function structCount(doc: Y.Doc): number {
  let n = 0
  for (const structs of doc.store.clients.values()) n += structs.length
  return n
}

export interface StateCheck {
  bytes: number
  doc: Y.Doc
  pendingStructs: boolean
  pendingDs: boolean
}

/** GET /api/rooms/<room>/state, applied to a fresh Y.Doc. Throws if it does not apply. */
export async function fetchState(url: string, room: string): Promise<StateCheck> {
  const res = await fetch(`${url}/api/rooms/${encodeURIComponent(room)}/state`)
  if (res.status !== 200) throw new Error(`GET state of room ${room}: HTTP ${res.status}`)
  const bytes = new Uint8Array(await res.arrayBuffer())
  const doc = new Y.Doc()
  try {
    Y.applyUpdate(doc, bytes)
  } catch (err) {
    throw new Error(`room ${room}: the state endpoint's ${bytes.length} bytes do not apply in a fresh Y.Doc: ${(err as Error).message}`, { cause: err })
  }
  return { bytes: bytes.length, doc, pendingStructs: doc.store.pendingStructs !== null, pendingDs: doc.store.pendingDs !== null }
}

/** The state applies in a fresh Y.Doc and leaves nothing pending there. */
export async function assertCleanState(url: string, room: string): Promise<Y.Doc> {
  const s = await fetchState(url, room)
  if (s.pendingStructs || s.pendingDs) {
    throw new Error(
      `room ${room}: the state endpoint's ${s.bytes} bytes leave a fresh Y.Doc with ${[s.pendingStructs && 'pending structs', s.pendingDs && 'a pending delete set'].filter(Boolean).join(' and ')}`,
    )
  }
  return s.doc
}

/** A writer and a reader in a room of their own: one round trip through the server's whole update path. */
export class Bystander {
  private n = 0
  private constructor(
    private readonly writer: DocClient,
    private readonly reader: DocClient,
  ) {}

  static async open(wsUrl: string, room = 'bystander'): Promise<Bystander> {
    return new Bystander(await DocClient.open(wsUrl, room), await DocClient.open(wsUrl, room))
  }

  /** Throws unless an edit reaches the other client within `timeoutMs` (liveness, not speed). */
  async roundTrip(timeoutMs = 15_000): Promise<void> {
    const word = `[${++this.n}]`
    this.writer.doc.getText('t').insert(0, word)
    await this.reader.raw.when(
      () => this.reader.text().startsWith(word) || this.reader.raw.closeInfo || this.writer.raw.closeInfo,
      'the bystander round trip',
      timeoutMs,
    )
    if (this.reader.raw.closeInfo || this.writer.raw.closeInfo) throw new Error('a bystander was closed')
  }

  close(): void {
    this.writer.close()
    this.reader.close()
  }
}

// ---------------------------------------------------------------------------------------------
// Memory

let gcFn: (() => void) | undefined
/** A full, synchronous GC (the flag is set at run time: vitest's workers are not started with --expose-gc). */
function fullGc(): void {
  if (!gcFn) {
    setFlagsFromString('--expose-gc')
    gcFn = runInNewContext('gc') as () => void
  }
  gcFn()
}

/** heapUsed after a full GC, in bytes. */
export function heapAfterGc(): number {
  fullGc()
  return process.memoryUsage().heapUsed
}

/**
 * Samples the process's resident set from a worker thread every millisecond, so a peak reached
 * while the main thread is busy (decoding a frame synchronously) is seen. `growth()` is the
 * highest RSS since `start` minus the RSS at `start`. (maxRSS would not do: it is a high-water
 * mark of the process's whole life, often set while modules loaded.)
 */
export async function rssSampler(): Promise<{ growth(): number; stop(): Promise<void> }> {
  const sab = new SharedArrayBuffer(4)
  const peak = new Int32Array(sab)
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads')
     const peak = new Int32Array(workerData)
     const sample = () => { const kb = Math.floor(process.memoryUsage.rss() / 1024); if (kb > Atomics.load(peak, 0)) Atomics.store(peak, 0, kb) }
     sample(); parentPort.postMessage('ready'); setInterval(sample, 1)`,
    { eval: true, workerData: sab },
  )
  await new Promise((resolve) => worker.once('message', resolve))
  const start = process.memoryUsage.rss()
  Atomics.store(peak, 0, Math.floor(start / 1024))
  return {
    growth: () => Atomics.load(peak, 0) * 1024 - start,
    stop: async () => {
      await worker.terminate()
    },
  }
}

export const MiB = 1024 * 1024

// ---------------------------------------------------------------------------------------------
// The store, read directly

export interface StoredRows {
  updates: Array<{ seq: number; data: Uint8Array }>
  snapshots: Array<{ seq: number; data: Uint8Array }>
  quarantine: Array<{ seq: number; data: Uint8Array; reason: string }>
}

/** The rows SQLite holds for `room` (read-only; WAL lets this read beside a running server). */
export function storedRows(dataDir: string, room: string): StoredRows {
  const db = new Database(join(dataDir, 'tandem.sqlite'), { readonly: true, fileMustExist: true })
  try {
    const all = <T>(sql: string) => db.prepare(sql).all(room) as T[]
    return {
      updates: all<{ seq: number; data: Buffer }>('SELECT seq, data FROM updates WHERE room = ? ORDER BY seq').map((r) => ({ seq: r.seq, data: new Uint8Array(r.data) })),
      snapshots: all<{ seq: number; data: Buffer }>('SELECT seq, data FROM snapshots WHERE room = ?').map((r) => ({ seq: r.seq, data: new Uint8Array(r.data) })),
      quarantine: all<{ seq: number; data: Buffer; reason: string }>('SELECT seq, data, reason FROM quarantine WHERE room = ? ORDER BY seq').map((r) => ({
        seq: r.seq,
        data: new Uint8Array(r.data),
        reason: r.reason,
      })),
    }
  } finally {
    db.close()
  }
}

/** A counter without labels, read from GET /metrics (0 when absent). */
export async function counter(s: RunningServer, name: string): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text()
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(text)
  return m ? Number(m[1]) : 0
}

/** Every server a test starts, closed (and its directory kept for a restart) by `closeAll`. */
export class Servers {
  private running: RunningServer[] = []

  async start(env: Record<string, string>): Promise<RunningServer> {
    const s = await startServer(env)
    this.running.push(s)
    return s
  }

  /** Closes `s` and starts a new server on the same DATA_DIR with the same settings. */
  async restart(s: RunningServer, env: Record<string, string>): Promise<RunningServer> {
    await s.close()
    return this.start({ ...env, DATA_DIR: s.dataDir })
  }

  async closeAll(): Promise<void> {
    for (const s of this.running.splice(0)) await s.close().catch(() => {})
  }
}
