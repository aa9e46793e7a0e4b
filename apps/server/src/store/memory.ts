import type { DocStore, RoomInfo, StoredRow } from './types.js'
import { createMemoryUploads } from './uploads.js'

/**
 * Non-durable store (STORE=memory): for benchmarks that price durability and for tests.
 * Same semantics as the real stores, minus surviving a restart.
 */
export function createMemoryStore(): DocStore {
  const logs = new Map<string, StoredRow[]>()
  const snapshots = new Map<string, StoredRow>()
  /** first and latest append per room (ms), for listRooms */
  const times = new Map<string, { createdAt: number; updatedAt: number }>()
  let seq = 0
  const uploads = createMemoryUploads()
  const lastSeq = (room: string): number => {
    const log = logs.get(room)
    return Math.max(log?.length ? log[log.length - 1]!.seq : 0, snapshots.get(room)?.seq ?? 0)
  }
  return {
    kind: 'memory',
    load: async (room) => {
      const snapshot = snapshots.get(room) ?? null
      const updates = (logs.get(room) ?? []).filter((r) => r.seq > (snapshot?.seq ?? 0))
      return { snapshot, updates }
    },
    append: async (entries) => {
      const now = Date.now()
      return entries.map(({ room, update, ifLastSeq }) => {
        if (ifLastSeq !== undefined && lastSeq(room) !== ifLastSeq) return 0
        const row = { seq: ++seq, data: update }
        const log = logs.get(room)
        if (log) log.push(row)
        else logs.set(room, [row])
        const t = times.get(room)
        if (t) t.updatedAt = now
        else times.set(room, { createdAt: now, updatedAt: now })
        return row.seq
      })
    },
    lastSeq: async (room) => lastSeq(room),
    listRooms: async ({ prefix, after, limit }) => {
      const names = new Set([...[...logs].flatMap(([n, log]) => (log.length ? [n] : [])), ...snapshots.keys()])
      // UTF-8 byte order, like SQLite's BINARY collation.
      const sorted = [...names]
        .filter((n) => n.startsWith(prefix) && (after === undefined || utf8Compare(n, after) > 0))
        .sort(utf8Compare)
        .slice(0, limit)
      return sorted.map((room): RoomInfo => {
        const bytes = (snapshots.get(room)?.data.length ?? 0) + (logs.get(room) ?? []).reduce((n, r) => n + r.data.length, 0)
        const t = times.get(room)
        return { room, bytes, createdAt: t?.createdAt, updatedAt: t?.updatedAt }
      })
    },
    uploads,
    deleteRoom: async (room) => {
      uploads.deleteRoom(room)
      logs.delete(room)
      snapshots.delete(room)
      times.delete(room)
    },
    compact: async (room, data, throughSeq) => {
      snapshots.set(room, { seq: throughSeq, data })
      const rest = (logs.get(room) ?? []).filter((r) => r.seq > throughSeq)
      if (rest.length) logs.set(room, rest)
      else logs.delete(room)
    },
    quarantine: async (room, seqs) => {
      const drop = new Set(seqs)
      logs.set(room, (logs.get(room) ?? []).filter((r) => !drop.has(r.seq)))
      if (snapshots.has(room) && drop.has(snapshots.get(room)!.seq)) snapshots.delete(room)
    },
    health: async () => ({ ok: true }),
    close: async () => {},
  }
}

const utf8Compare = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
