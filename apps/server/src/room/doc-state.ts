import * as Y from 'yjs'
import { CloseCode, ProtocolError, writeSyncStep1FromStateVector, writeSyncStep2 } from '@tandem/sync'
import { LOAD_ORIGIN } from './tx-origins.js'
import { watchTransactions } from '../update/integrate.js'

const isEmptyStateVector = (sv: Uint8Array) => sv.length === 1 && sv[0] === 0

/** Y.encodeStateAsUpdate of an empty Y.Doc: the state of a room with nothing stored. */
const EMPTY_STATE = new Uint8Array([0, 0])

/**
 * A room's document state, and what joiners need from it, computed once per document version:
 * a join storm of N clients encodes the state once, not N times. Call `changed()` after every
 * change to `doc`.
 *
 * The Y.Doc exists from its first use on (the first change, a fan-out, a catch-up). Until then
 * the state is the stored bytes the room loaded, and joiners are answered from them
 * (`Y.encodeStateVectorFromUpdate`, `Y.diffUpdate`): a room that is only read (most rooms of an
 * idle server) holds no Y.Doc (~2 KiB even when empty, far more for a long document) and its
 * load applies nothing.
 */
export class DocState {
  private live: Y.Doc | undefined
  private stored: Uint8Array | undefined
  private version = 0
  private cache: { version: number; step1?: Uint8Array; fullState?: Uint8Array; fullStep2?: Uint8Array } | undefined

  /** The document, created from the stored state on first use. */
  get doc(): Y.Doc {
    if (this.live) return this.live
    const doc = new Y.Doc({ gc: true })
    // Stored bytes were healed on load (stored-state.ts): they integrate whole.
    if (this.stored) Y.applyUpdate(doc, this.stored, LOAD_ORIGIN)
    this.stored = undefined
    watchTransactions(doc)
    return (this.live = doc)
  }

  /** Whether the Y.Doc exists yet. */
  get materialized(): boolean {
    return this.live !== undefined
  }

  /** Takes the state loaded from the store (already validated and merged). */
  load(update: Uint8Array): void {
    if (this.live) Y.applyUpdate(this.live, update, LOAD_ORIGIN)
    else this.stored = update
    this.changed()
  }

  /** Drops the live document for `update` (a rebuild from the store). */
  replace(update: Uint8Array): void {
    this.live?.destroy()
    this.live = undefined
    this.stored = update
    this.changed()
  }

  changed(): void {
    this.version++
  }

  private source(): Y.Doc | Uint8Array {
    return this.live ?? this.stored ?? EMPTY_STATE
  }

  private fresh() {
    if (this.cache?.version !== this.version) this.cache = { version: this.version }
    return this.cache
  }

  /** The whole state as one update (Y.encodeStateAsUpdate of the doc, or the stored bytes as they are). */
  state(): Uint8Array {
    const c = this.fresh()
    if (c.fullState) return c.fullState
    const s = this.source()
    return (c.fullState = s instanceof Uint8Array ? s : Y.encodeStateAsUpdate(s))
  }

  /** The document's state vector. */
  stateVector(): Uint8Array {
    const s = this.source()
    return s instanceof Uint8Array ? Y.encodeStateVectorFromUpdate(s) : Y.encodeStateVector(s)
  }

  /** Our sync step 1 (the doc's state vector), sent to every joiner. */
  step1(): Uint8Array {
    const c = this.fresh()
    if (c.step1) return c.step1
    const s = this.source()
    return (c.step1 = writeSyncStep1FromStateVector(s instanceof Uint8Array ? Y.encodeStateVectorFromUpdate(s) : Y.encodeStateVector(s)))
  }

  /** The step 2 answering a peer's step 1: shared for fresh peers, a diff for returning ones. */
  step2For(stateVector: Uint8Array): Uint8Array {
    if (isEmptyStateVector(stateVector)) {
      const c = this.fresh()
      return (c.fullStep2 ??= writeSyncStep2(this.state()))
    }
    const s = this.source()
    let diff: Uint8Array
    try {
      diff = s instanceof Uint8Array ? Y.diffUpdate(s, stateVector) : Y.encodeStateAsUpdate(s, stateVector)
    } catch (err) {
      throw new ProtocolError(`invalid state vector: ${(err as Error).message}`, CloseCode.InvalidPayload, 'invalid-state-vector')
    }
    return writeSyncStep2(diff)
  }

  /**
   * What a snapshot stores. Stored bytes merged from a log still carry the content of deleted
   * text; a Y.Doc garbage-collects it, so stored bytes go through a throwaway doc (compaction is
   * rare; keeping that doc would cost its memory for as long as the room lives).
   */
  snapshot(): Uint8Array {
    if (this.live || !this.stored) return this.state()
    const doc = new Y.Doc({ gc: true })
    try {
      Y.applyUpdate(doc, this.stored, LOAD_ORIGIN)
      return Y.encodeStateAsUpdate(doc)
    } finally {
      doc.destroy()
    }
  }

  destroy(): void {
    this.live?.destroy()
    this.stored = undefined
    this.cache = undefined
  }
}
