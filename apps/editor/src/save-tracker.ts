import * as Y from 'yjs'
import { readFrame, writeSyncStep1FromStateVector } from '@tandem/sync'
import type { ProviderLike } from './provider-like.js'

/**
 * "Have all my edits reached the server?" on the plain y-websocket protocol, which has no
 * acknowledgement (a known gap: y-websocket#90, #62).
 *
 * The probe is a sync step 1 whose state vector is ours, except our own clock is one less
 * than it really is. Any y-websocket server answers step 1 with a step 2 holding everything
 * it has beyond that vector, so the answer contains our last item if and only if the server
 * holds all our insertions; and every step 2 carries the server's whole delete set, which
 * proves our deletions arrived too. The answer costs one item plus the delete set, and the
 * provider applies it as usual (a no-op: we already have those items).
 */

type DeleteSet = ReturnType<typeof Y.createDeleteSetFromStructStore>
type DecodedUpdate = ReturnType<typeof Y.decodeUpdate>

/** What the server must hold for the local document to count as saved. */
export interface LocalState {
  clientID: number
  /** our next clock: we have written items with clocks [0, clock) */
  clock: number
  ds: DeleteSet
}

/** True when every range of `local` lies inside `remote` (both per-client lists of {clock, len}). */
export function deleteSetCovers(remote: DeleteSet, local: DeleteSet): boolean {
  for (const [client, items] of local.clients) {
    if (items.length === 0) continue
    const theirs = [...(remote.clients.get(client) ?? [])].sort((a, b) => a.clock - b.clock)
    for (const { clock, len } of items) {
      let cursor = clock
      const end = clock + len
      for (const r of theirs) {
        if (r.clock > cursor) break
        if (r.clock + r.len > cursor) cursor = r.clock + r.len
        if (cursor >= end) break
      }
      if (cursor < end) return false
    }
  }
  return true
}

/**
 * Does this step-2 payload, sent in answer to our probe, prove the server holds `local`?
 * (Structs of our client are present only if the server is at or past our clock.)
 */
export function replyProvesSaved(reply: DecodedUpdate, local: LocalState): boolean {
  if (local.clock > 0) {
    const ours = reply.structs.some((s) => s.id.client === local.clientID && s.id.clock + s.length >= local.clock)
    if (!ours) return false
  }
  return deleteSetCovers(reply.ds, local.ds)
}

/** The state vector sent as the probe: ours, with our own clock stepped back by one. */
export function probeStateVector(doc: Y.Doc): Uint8Array {
  const sv = Y.decodeStateVector(Y.encodeStateVector(doc))
  const mine = sv.get(doc.clientID) ?? 0
  if (mine > 0) sv.set(doc.clientID, mine - 1)
  // Encode by hand: Y.encodeStateVector takes a doc, not a map.
  const bytes: number[] = []
  const writeVarUint = (n: number) => {
    while (n > 0x7f) {
      bytes.push(0x80 | (n & 0x7f))
      n = Math.floor(n / 128)
    }
    bytes.push(n)
  }
  writeVarUint(sv.size)
  for (const [client, clock] of sv) {
    writeVarUint(client)
    writeVarUint(clock)
  }
  return new Uint8Array(bytes)
}

const localState = (doc: Y.Doc): LocalState => ({
  clientID: doc.clientID,
  clock: Y.getState(doc.store, doc.clientID),
  ds: Y.createDeleteSetFromStructStore(doc.store),
})

/** Read side of the tracker, what UIs need. */
export interface SaveState {
  /** true while some local edit is not yet known to be held by the server */
  readonly pending: boolean
  /** Calls `cb` whenever `pending` flips; returns the unsubscribe function. */
  onChange(cb: (pending: boolean) => void): () => void
}

export interface SaveTracker extends SaveState {
  /** WebSocket constructor to hand to the provider: lets the tracker see the current socket. */
  readonly WebSocket: typeof WebSocket
  /** Starts probing with this provider (it is created after us, with our WebSocket). */
  attach(provider: ProviderLike): void
  destroy(): void
}

/** Debounce after the last local edit: no probe per keystroke while someone types. */
const PROBE_DELAY_MS = 400
/** An unanswered probe (lost, or answered before our edits landed) is repeated after this. */
const PROBE_RETRY_MS = 3000

export function createSaveTracker(doc: Y.Doc, BaseWebSocket: typeof WebSocket): SaveTracker {
  let provider: ProviderLike | undefined
  let socket: WebSocket | undefined
  let pending = false
  /** bumped on every local edit; a probe answer counts only for the generation it was sent at */
  let generation = 0
  let probe: { generation: number; local: LocalState } | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let destroyed = false
  let detachProvider = (): void => {}
  const listeners = new Set<(pending: boolean) => void>()

  const setPending = (value: boolean) => {
    if (value === pending) return
    pending = value
    for (const cb of listeners) cb(value)
  }

  const schedule = (ms: number) => {
    if (timer !== undefined) clearTimeout(timer)
    timer = setTimeout(sendProbe, ms)
  }

  function sendProbe() {
    timer = undefined
    if (destroyed || !pending) return
    // Not connected or not synced yet: the 'synced' handler probes once the link is usable.
    if (!socket || socket.readyState !== BaseWebSocket.OPEN || !provider?.synced) return
    probe = { generation, local: localState(doc) }
    socket.send(writeSyncStep1FromStateVector(probeStateVector(doc)))
    schedule(PROBE_RETRY_MS)
  }

  const onFrame = (bytes: Uint8Array) => {
    if (!probe || !pending) return
    let update: Uint8Array
    try {
      const frame = readFrame(bytes)
      if (frame.type !== 'sync-step2') return
      update = frame.update
    } catch {
      return // the provider owns protocol errors; we only observe
    }
    let decoded: DecodedUpdate
    try {
      decoded = Y.decodeUpdate(update)
    } catch {
      return
    }
    if (probe.generation === generation && replyProvesSaved(decoded, probe.local)) {
      probe = undefined
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      setPending(false)
    }
  }

  const onMessage = (ev: MessageEvent) => {
    const data: unknown = ev.data
    if (data instanceof ArrayBuffer) onFrame(new Uint8Array(data))
    else if (typeof Blob !== 'undefined' && data instanceof Blob) {
      const target = ev.target
      void data.arrayBuffer().then((buf) => {
        if (target === socket) onFrame(new Uint8Array(buf))
      })
    }
  }

  class ObservedWebSocket extends BaseWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      if (destroyed) return
      socket?.removeEventListener('message', onMessage)
      socket = this
      this.addEventListener('message', onMessage)
    }
  }

  const onUpdate = (_update: Uint8Array, _origin: unknown, _doc: Y.Doc, tr: Y.Transaction) => {
    // Only our own edits: updates the provider (or offline storage) applied are not local.
    if (!tr.local) return
    generation++
    probe = undefined
    setPending(true)
    schedule(PROBE_DELAY_MS)
  }
  doc.on('update', onUpdate)

  return {
    get pending() {
      return pending
    },
    onChange(cb) {
      listeners.add(cb)
      return () => listeners.delete(cb)
    },
    WebSocket: ObservedWebSocket,
    attach(p: ProviderLike) {
      provider = p
      const onSynced = (synced: boolean) => {
        if (synced && pending) schedule(0)
      }
      p.on('synced', onSynced)
      detachProvider = () => p.off('synced', onSynced)
    },
    destroy() {
      destroyed = true
      if (timer !== undefined) clearTimeout(timer)
      doc.off('update', onUpdate)
      detachProvider()
      socket?.removeEventListener('message', onMessage)
      socket = undefined
      listeners.clear()
    },
  }
}
