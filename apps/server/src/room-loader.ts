import * as Y from 'yjs'
import { validateUpdate } from '@tandem/sync'
import type { StoredRow } from './store/types.js'
import type { RoomContext } from './room-context.js'
import { Room } from './room.js'

/**
 * Builds a room from its stored rows. A row that fails to decode is quarantined and logged,
 * never allowed to stop the room from opening (the rest of the document is still served).
 * A store that cannot be read at all rejects: we never open a room as empty on a load error,
 * because that empty document would later overwrite the real one (hocuspocus#382).
 */
export async function loadRoom(name: string, ctx: RoomContext): Promise<Room> {
  const loaded = await ctx.store.load(name)
  const rows: StoredRow[] = loaded.snapshot ? [loaded.snapshot, ...loaded.updates] : loaded.updates
  const good: Uint8Array[] = []
  const bad: number[] = []
  let lastSeq = 0
  let logBytes = 0
  for (const row of rows) {
    lastSeq = Math.max(lastSeq, row.seq)
    try {
      validateUpdate(row.data)
      good.push(row.data)
      if (row !== loaded.snapshot) logBytes += row.data.length
    } catch {
      bad.push(row.seq)
    }
  }
  if (bad.length) {
    ctx.log.error({ room: name, seqs: bad }, 'stored rows failed to decode; quarantined')
    ctx.metrics.quarantinedRows.inc(bad.length)
    await ctx.store.quarantine(name, bad, 'decode failed on load')
  }
  const room = new Room(name, ctx)
  if (good.length) {
    // One merge + one apply is far cheaper than applying a long log row by row.
    let merged: Uint8Array
    try {
      merged = good.length === 1 ? good[0]! : Y.mergeUpdates(good)
    } catch {
      merged = mergeOneByOne(good)
    }
    room.loadState(merged, lastSeq, loaded.updates.length, logBytes)
  } else {
    room.lastSeq = lastSeq
  }
  return room
}

/** Fallback when a batch merge throws: apply each update on its own doc and skip what fails. */
function mergeOneByOne(updates: Uint8Array[]): Uint8Array {
  const doc = new Y.Doc()
  for (const u of updates) {
    try {
      Y.applyUpdate(doc, u)
    } catch {
      // already validated; a failure here means the combination is inconsistent: keep the rest
    }
  }
  const state = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return state
}
