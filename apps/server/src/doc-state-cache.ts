import * as Y from 'yjs'
import { ProtocolError, writeSyncStep1FromStateVector, writeSyncStep2 } from '@tandem/sync'

const isEmptyStateVector = (sv: Uint8Array) => sv.length === 1 && sv[0] === 0

/**
 * What a document's state is read from: its live Y.Doc, or, for a room nobody has written to
 * since it loaded, the stored state itself (one update's bytes). Serving joiners from the bytes
 * costs no Y.Doc (~2 KiB even when empty, far more for a long document) and no apply at load.
 */
export type DocSource = Y.Doc | Uint8Array

/**
 * What joiners need from a document, computed once per document version: a join storm of N
 * clients encodes the state once, not N times. Call `changed()` after every change to the doc.
 */
export class DocStateCache {
  private version = 0
  private cache: { version: number; step1?: Uint8Array; fullState?: Uint8Array; fullStep2?: Uint8Array } | undefined

  constructor(private readonly source: () => DocSource) {}

  changed(): void {
    this.version++
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
      throw new ProtocolError(`invalid state vector: ${(err as Error).message}`, 1007, 'invalid-state-vector')
    }
    return writeSyncStep2(diff)
  }

  clear(): void {
    this.cache = undefined
  }
}
