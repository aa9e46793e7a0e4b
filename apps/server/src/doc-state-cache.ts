import * as Y from 'yjs'
import { ProtocolError, writeSyncStep1, writeSyncStep2 } from '@tandem/sync'

const isEmptyStateVector = (sv: Uint8Array) => sv.length === 1 && sv[0] === 0

/**
 * What joiners need from a document, computed once per document version: a join storm of N
 * clients encodes the state once, not N times. Call `changed()` after every change to the doc.
 */
export class DocStateCache {
  private version = 0
  private cache: { version: number; step1?: Uint8Array; fullState?: Uint8Array; fullStep2?: Uint8Array } = { version: -1 }

  constructor(private readonly doc: Y.Doc) {}

  changed(): void {
    this.version++
  }

  private fresh() {
    if (this.cache.version !== this.version) this.cache = { version: this.version }
    return this.cache
  }

  /** Y.encodeStateAsUpdate(doc). */
  state(): Uint8Array {
    const c = this.fresh()
    return (c.fullState ??= Y.encodeStateAsUpdate(this.doc))
  }

  /** Our sync step 1 (the doc's state vector), sent to every joiner. */
  step1(): Uint8Array {
    const c = this.fresh()
    return (c.step1 ??= writeSyncStep1(this.doc))
  }

  /** The step 2 answering a peer's step 1: shared for fresh peers, a diff for returning ones. */
  step2For(stateVector: Uint8Array): Uint8Array {
    if (isEmptyStateVector(stateVector)) {
      const c = this.fresh()
      return (c.fullStep2 ??= writeSyncStep2(this.state()))
    }
    let diff: Uint8Array
    try {
      diff = Y.encodeStateAsUpdate(this.doc, stateVector)
    } catch (err) {
      throw new ProtocolError(`invalid state vector: ${(err as Error).message}`, 1007, 'invalid-state-vector')
    }
    return writeSyncStep2(diff)
  }

  clear(): void {
    this.cache = { version: -1 }
  }
}
