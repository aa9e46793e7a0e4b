import type { DocStore, StoredRow } from './types.js'

/**
 * Non-durable store (STORE=memory): for benchmarks that price durability and for tests.
 * Same semantics as the real stores, minus surviving a restart.
 */
export function createMemoryStore(): DocStore {
  const logs = new Map<string, StoredRow[]>()
  const snapshots = new Map<string, StoredRow>()
  let seq = 0
  return {
    kind: 'memory',
    load: async (room) => {
      const snapshot = snapshots.get(room) ?? null
      const updates = (logs.get(room) ?? []).filter((r) => r.seq > (snapshot?.seq ?? 0))
      return { snapshot, updates }
    },
    append: async (entries) =>
      entries.map(({ room, update }) => {
        const row = { seq: ++seq, data: update }
        const log = logs.get(room)
        if (log) log.push(row)
        else logs.set(room, [row])
        return row.seq
      }),
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
