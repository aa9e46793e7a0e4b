import * as Y from 'yjs'
import type { LoadedDoc } from '../store/types.js'
import type { TxOrigin } from './tx-origins.js'
import { FANOUT_ORIGIN } from './tx-origins.js'
import type { DocStore } from '../store/types.js'
import { IntegrationFailed, integrate, takePending, type PendingParts } from '../update/integrate.js'
import { inspectUpdate } from '../update/inspect.js'

/**
 * Applies stored rows (a catch-up read) to `doc` through the gate and returns the part that was
 * new to it, as one update ('failed' when Yjs threw part-way: the caller rebuilds the document),
 * or undefined when the doc already had everything; plus the highest seq seen. Only the new part
 * is worth relaying: Yjs reports exactly that through the 'update' event.
 */
function applyStoredRows(
  doc: Y.Doc,
  loaded: LoadedDoc,
  since: number,
  origin: TxOrigin,
  maxNestingDepth: number,
  park: (parts: PendingParts) => void,
): { delta: Uint8Array | undefined | 'failed'; seen: number } {
  const rows = loaded.snapshot ? [loaded.snapshot, ...loaded.updates] : loaded.updates
  let seen = since
  const delta: Uint8Array[] = []
  const onUpdate = (u: Uint8Array) => delta.push(u)
  doc.on('update', onUpdate)
  try {
    for (const row of rows) {
      seen = Math.max(seen, row.seq)
      if (row.seq <= since && row !== loaded.snapshot) continue
      try {
        const info = inspectUpdate(row.data)
        if (!info.hasContent) continue
        // Rows from the store passed the gate of the server that stored them; a part that still
        // pends here is parked like any other (never kept inside the document).
        const r = integrate(doc, row.data, origin, { maxNestingDepth, hasTypes: info.types > 0 })
        if (r.pending) park(r.pending)
      } catch (err) {
        takePending(doc)
        if (err instanceof IntegrationFailed) return { delta: 'failed', seen }
        // An unreadable or refused row is quarantined by the next load; it cannot be applied here either.
      }
    }
  } finally {
    doc.off('update', onUpdate)
  }
  if (delta.length === 0) return { delta: undefined, seen }
  return { delta: delta.length === 1 ? delta[0]! : Y.mergeUpdates(delta), seen }
}

/**
 * The server-to-server sync step. The fan-out may have missed messages (a Redis outage, a peer
 * that died between commit and publish): read what the store, the source of truth, has beyond
 * `synced`, apply it and relay only what was new to this server's peers. It does not rely on
 * pub/sub having delivered everything. Coalesced: one run at a time, plus at most one more if
 * asked again meanwhile.
 */
export class CatchUp {
  /**
   * Every stored row of the room with seq <= synced is in the document: set by the load, each
   * catch-up and each rebuild. Not the highest seq this server stored: with several servers, this
   * room's own commits run ahead of rows another server committed earlier whose fan-out message
   * is still in flight, or was lost.
   */
  private synced: number
  private running: Promise<void> | undefined
  private again = false
  private destroyed = false

  constructor(
    private readonly room: string,
    private readonly deps: {
      store: DocStore
      maxNestingDepth: number
      /** the document, once it holds nothing unstored */
      document: () => Promise<Y.Doc>
      /** a part of a stored row that cannot integrate yet */
      park: (parts: PendingParts) => void
      /** what was new, to relay; 'failed' when Yjs threw part-way (the document is rebuilt) */
      applied: (delta: Uint8Array | 'failed' | undefined, seen: number) => void
    },
    synced: number,
  ) {
    this.synced = synced
  }

  /** A rebuild read the store through `seq`. */
  reset(seq: number): void {
    this.synced = Math.max(this.synced, seq)
  }

  run(): Promise<void> {
    if (this.running) {
      this.again = true
      return this.running
    }
    const loop = async () => {
      do {
        this.again = false
        await this.once()
      } while (this.again && !this.destroyed)
    }
    this.running = loop().finally(() => (this.running = undefined))
    return this.running
  }

  private async once(): Promise<void> {
    const { store } = this.deps
    const since = this.synced
    const loaded = store.loadSince ? await store.loadSince(this.room, since) : await store.load(this.room)
    if (this.destroyed) return
    const doc = await this.deps.document()
    if (this.destroyed) return
    const { delta, seen } = applyStoredRows(doc, loaded, since, FANOUT_ORIGIN, this.deps.maxNestingDepth, this.deps.park)
    this.synced = Math.max(this.synced, seen)
    this.deps.applied(delta, seen)
  }

  destroy(): void {
    this.destroyed = true
  }
}
