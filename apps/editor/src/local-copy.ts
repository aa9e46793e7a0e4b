import * as Y from 'yjs'
import { IndexeddbPersistence } from 'y-indexeddb'

/** How long updates from the server may wait before they are written to IndexedDB, in ms. */
const SERVER_UPDATE_BATCH_MS = 1000

export interface LocalCopy {
  persistence: IndexeddbPersistence
  /** Writes what is pending, stops listening and closes the database (the data stays). */
  destroy(): Promise<void>
}

/**
 * The document's copy in IndexedDB (y-indexeddb), with one change to how it writes: y-indexeddb
 * stores every update in its own IndexedDB transaction, so while someone else types this tab
 * would write ~20 times a second. Updates that came from the server (`fromServer(origin)`) are
 * already stored there: they are merged and written together, at most SERVER_UPDATE_BATCH_MS
 * later. This device's own edits are written at once, as before, after whatever server updates
 * are still pending, so the stored updates keep their order (a local edit never lands in the
 * database before the remote content it builds on). The pending batch is also written when the
 * page is hidden or goes away.
 */
export function openLocalCopy(name: string, doc: Y.Doc, fromServer: (origin: unknown) => boolean): LocalCopy {
  const persistence = new IndexeddbPersistence(name, doc)
  const store = persistence._storeUpdate
  doc.off('update', store)

  let pending: Uint8Array[] = []
  let timer: ReturnType<typeof setTimeout> | undefined
  const flush = () => {
    clearTimeout(timer)
    timer = undefined
    if (pending.length === 0) return
    const update = pending.length === 1 ? pending[0]! : Y.mergeUpdates(pending)
    pending = []
    store(update, null)
  }
  const onUpdate = (update: Uint8Array, origin: unknown) => {
    // y-indexeddb's own replay of the database: never written back (its store skips it too).
    if (origin === persistence) return
    if (!fromServer(origin)) {
      flush()
      store(update, origin)
      return
    }
    pending.push(update)
    timer ??= setTimeout(flush, SERVER_UPDATE_BATCH_MS)
  }
  doc.on('update', onUpdate)

  const view = typeof window === 'undefined' ? undefined : window
  const onHidden = () => {
    if (document.visibilityState === 'hidden') flush()
  }
  view?.addEventListener('pagehide', flush)
  document.addEventListener('visibilitychange', onHidden)

  return {
    persistence,
    destroy() {
      flush()
      doc.off('update', onUpdate)
      view?.removeEventListener('pagehide', flush)
      document.removeEventListener('visibilitychange', onHidden)
      return persistence.destroy()
    },
  }
}
