import * as Y from 'yjs'
import type { StoredRow } from '../store/types.js'
import type { RoomContext } from './context.js'
import { LOAD_ORIGIN } from './tx-origins.js'
import { docDepth } from '../update/nesting.js'
import { IntegrationFailed, integrate, takePending, watchTransactions, type PendingParts } from '../update/integrate.js'
import { countStructs, inspectUpdate, type UpdateInfo } from '../update/inspect.js'

/** A room's document as the store holds it, healed: every part of it integrates. */
export interface StoredState {
  /** the merged state (nothing pending, nothing that makes Yjs throw, nesting within bounds) */
  update: Uint8Array
  lastSeq: number
  logRows: number
  logBytes: number
  /** structs in the document (MAX_DOC_STRUCTS) and bytes the store holds for it (MAX_DOC_BYTES) */
  structs: number
  bytes: number
  /** rows were quarantined or pending parts dropped: a snapshot should make the healing stick */
  healed: boolean
}

/** Rooms that keep making Yjs throw on load: past this many, the rest of their log is set aside too. */
const MAX_REBUILDS = 20

/**
 * Reads a room from the store and heals what an older version (or a bug) stored: rows that do
 * not decode, make Yjs throw, nest types past MAX_NESTING_DEPTH or can never integrate (pending
 * parts nothing resolves) are quarantined — logged, counted in /metrics, kept for inspection —
 * and the rest loads. A store that cannot be read at all rejects: a room is never opened as empty
 * on a load error, because that empty document would later overwrite the real one (hocuspocus#382).
 *
 * The usual case is one merge and one apply into a throwaway document (the room keeps the
 * merged bytes and creates its Y.Doc on first use); rows are looked at one by one only when that
 * fails.
 */
export async function loadStoredState(name: string, ctx: RoomContext): Promise<StoredState> {
  const loaded = await ctx.store.load(name)
  const rows: StoredRow[] = loaded.snapshot ? [loaded.snapshot, ...loaded.updates] : loaded.updates
  let lastSeq = 0
  let bytes = 0
  for (const row of rows) {
    lastSeq = Math.max(lastSeq, row.seq)
    bytes += row.data.length
  }
  const logRows = loaded.updates.length
  const logBytes = bytes - (loaded.snapshot?.data.length ?? 0)
  const base = { lastSeq, logRows, logBytes, bytes }
  if (rows.length === 0) return { ...base, update: new Uint8Array([0, 0]), structs: 0, healed: false }

  const max = ctx.config.maxNestingDepth
  const fast = tryWhole(rows, max)
  if (fast) return { ...base, ...fast, healed: false }

  const { doc, bad } = rowByRow(rows, max)
  try {
    for (const [reason, seqs] of bad) {
      ctx.log.error({ room: name, seqs, reason }, 'stored rows quarantined')
      ctx.metrics.quarantinedRows.inc(seqs.length)
      await ctx.store.quarantine(name, seqs, reason)
    }
    return { ...base, update: Y.encodeStateAsUpdate(doc), structs: countStructs(doc), healed: true }
  } finally {
    doc.destroy()
  }
}

/** One merge, one apply: the whole log integrates, nothing pends, nesting is in bounds. */
function tryWhole(rows: StoredRow[], max: number): { update: Uint8Array; structs: number } | undefined {
  let merged: Uint8Array
  try {
    merged = rows.length === 1 ? rows[0]!.data : Y.mergeUpdates(rows.map((r) => r.data))
    inspectUpdate(merged) // trailing bytes, undecodable parts
  } catch {
    return undefined
  }
  const doc = new Y.Doc({ gc: true })
  try {
    Y.applyUpdate(doc, merged, LOAD_ORIGIN)
    if (takePending(doc) || docDepth(doc, max) > max) return undefined
    return { update: merged, structs: countStructs(doc) }
  } catch {
    return undefined
  } finally {
    doc.destroy()
  }
}

/**
 * Every row through the same gate as a live update, in seq order. A row that does not decode,
 * nests too deep or makes Yjs throw is bad (after a throw the document is rebuilt from the good
 * rows so far). Pending parts get one more chance once every row is in; what still pends then
 * marks its row bad and the document is rebuilt without it.
 */
function rowByRow(rows: StoredRow[], max: number): { doc: Y.Doc; bad: Map<string, number[]> } {
  const bad = new Map<string, number[]>()
  const setAside = (seq: number, reason: string) => {
    const seqs = bad.get(reason)
    if (seqs) seqs.push(seq)
    else bad.set(reason, [seq])
  }
  let good: StoredRow[] = []
  const parked: Array<{ row: StoredRow; parts: PendingParts }> = []
  let rebuilds = 0
  let doc = fresh()
  for (const row of rows) {
    if (rebuilds > MAX_REBUILDS) {
      setAside(row.seq, 'cannot be integrated on load')
      continue
    }
    let info: UpdateInfo
    try {
      info = inspectUpdate(row.data)
    } catch {
      setAside(row.seq, 'decode failed on load')
      continue
    }
    try {
      const r = integrate(doc, row.data, LOAD_ORIGIN, { maxNestingDepth: max, hasTypes: info.types > 0 })
      good.push(row)
      if (r.pending) parked.push({ row, parts: r.pending })
    } catch (err) {
      setAside(row.seq, err instanceof IntegrationFailed ? 'cannot be integrated on load' : `refused on load: ${(err as Error).message}`)
      if (err instanceof IntegrationFailed) {
        rebuilds++
        doc.destroy()
        doc = replay(good, max)
      }
    }
  }
  // Second chance for parked parts, now that every row is in.
  const unresolved = new Set<StoredRow>()
  for (const { row, parts } of parked) {
    for (const part of [parts.structs?.update, parts.ds]) {
      if (!part) continue
      try {
        if (integrate(doc, part, LOAD_ORIGIN, { maxNestingDepth: max, hasTypes: true, v2: true }).pending) unresolved.add(row)
      } catch {
        unresolved.add(row)
      }
    }
  }
  if (unresolved.size) {
    for (const row of unresolved) setAside(row.seq, 'depends on updates that never arrived')
    good = good.filter((r) => !unresolved.has(r))
    doc.destroy()
    doc = replay(good, max)
  }
  return { doc, bad }
}

function fresh(): Y.Doc {
  const doc = new Y.Doc({ gc: true })
  watchTransactions(doc)
  return doc
}

/** A document from rows already known to integrate; whatever still pends is left out. */
function replay(rows: StoredRow[], max: number): Y.Doc {
  const doc = fresh()
  for (const row of rows) {
    try {
      integrate(doc, row.data, LOAD_ORIGIN, { maxNestingDepth: max, hasTypes: true })
    } catch {
      // It integrated before in this same order; a failure now leaves the row's effect out.
    }
  }
  return doc
}
