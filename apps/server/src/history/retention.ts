import type { VersionMeta } from '../store/versions.js'

/**
 * Which versions retention deletes (as Google Docs thins its history): every named version is
 * kept; the others are kept all while younger than `keepAllMs`, then the newest one of each hour
 * while younger than `hourlyMs`, then the newest one of each day (UTC). The newest version of the
 * room is always kept, so a document that stopped changing keeps its last state.
 */
export interface RetentionPolicy {
  keepAllMs: number
  hourlyMs: number
}

const HOUR = 3_600_000
const DAY = 24 * HOUR

/** `versions`: all of one room's versions, any order. Returns the ids to delete. */
export function toThin(versions: readonly Pick<VersionMeta, 'id' | 'at' | 'name' | 'kind'>[], now: number, policy: RetentionPolicy): number[] {
  const newestFirst = [...versions].sort((a, b) => b.at - a.at || b.id - a.id)
  const seen = new Set<string>()
  const drop: number[] = []
  newestFirst.forEach((v, i) => {
    if (i === 0 || v.name !== null || v.kind === 'named') return
    const age = now - v.at
    if (age < policy.keepAllMs) return
    const bucket = age < policy.hourlyMs ? `h${Math.floor(v.at / HOUR)}` : `d${Math.floor(v.at / DAY)}`
    if (seen.has(bucket)) drop.push(v.id)
    else seen.add(bucket)
  })
  return drop
}
