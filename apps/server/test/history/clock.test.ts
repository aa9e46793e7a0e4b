import * as Y from 'yjs'
import { afterEach, describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import { createSqliteStore } from '../../src/store/sqlite.js'
import { createHistory, type VersionSource } from '../../src/history/history.js'
import { toThin } from '../../src/history/retention.js'
import { createLogger } from '../../src/log.js'
import type { VersionStore } from '../../src/store/versions.js'
import { tempDir } from '../helpers/server.js'

/**
 * Automatic versions and retention against a fake clock: the real SQLite store in a temp dir, the
 * history driven by hand (`tick`, `sweep`) at the times the test sets. The room is a Y.Doc of the
 * test's own (what the history reads from a room: its stored state and seq).
 */

const HOUR = 3_600_000
const DAY = 24 * HOUR
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function setup(opts: { quietMs?: number; maxIntervalMs?: number } = {}) {
  const dir = tempDir()
  const store = createSqliteStore({ dataDir: dir, synchronous: 'NORMAL', checkpointIntervalMs: 0 })
  const versions = store.versions!
  const clock = { t: Date.UTC(2026, 0, 10, 12, 0, 0) }
  const doc = new Y.Doc()
  const room: VersionSource = {
    name: 'r',
    encodeState: async () => Y.encodeStateAsUpdate(doc),
    catchUpFromStore: async () => {},
  }
  /** an edit: a row appended to the store, as a commit does */
  const edit = async (text: string) => {
    const before = Y.encodeStateVector(doc)
    doc.getText('t').insert(doc.getText('t').length, text)
    const [seq] = await store.append([{ room: 'r', update: Y.encodeStateAsUpdate(doc, before) }])
    return seq!
  }
  const history = createHistory({
    versions,
    store,
    log: createLogger('silent'),
    shared: false,
    quietMs: opts.quietMs ?? 5 * 60_000,
    maxIntervalMs: opts.maxIntervalMs ?? 30 * 60_000,
    retention: { keepAllMs: DAY, hourlyMs: 30 * DAY },
    acquire: async () => room,
    release: () => {},
    now: () => clock.t,
    // Far away: the test sweeps by hand.
    pruneEveryMs: 1_000_000_000,
  })
  cleanups.push(
    () => history.close(),
    () => store.close(),
    () => rmSync(dir, { recursive: true, force: true }),
  )
  return { store, versions, clock, history, edit }
}

const all = async (versions: VersionStore) => (await versions.list('r', { limit: 1000 })).reverse()

describe('automatic versions, fake clock', () => {
  it('one version when a burst has been quiet for HISTORY_QUIET_MS, none before, none again without edits', async () => {
    const { versions, clock, history, edit } = setup({ quietMs: 5 * 60_000 })
    const seq = await edit('hello')
    history.edited('r', seq, [{ id: 'alice', connection: 1, name: () => 'Alice' }])
    clock.t += 5 * 60_000 - 1
    await history.tick()
    expect(await all(versions)).toHaveLength(0)
    clock.t += 1
    await history.tick()
    const [v] = await all(versions)
    expect(v).toMatchObject({ kind: 'auto', seq, at: clock.t, authors: [{ id: 'alice', name: 'Alice' }] })
    for (let i = 0; i < 5; i++) {
      clock.t += 10 * 60_000
      await history.tick()
    }
    expect(await all(versions)).toHaveLength(1)
    const seq2 = await edit(' world')
    history.edited('r', seq2, [{ id: 'bob', connection: 2, name: () => undefined }])
    clock.t += 5 * 60_000
    await history.tick()
    const both = await all(versions)
    expect(both.map((x) => x.seq)).toEqual([seq, seq2])
    expect(both[1]!.authors).toEqual([{ id: 'bob' }])
  })

  it('a burst that never pauses: a version every HISTORY_MAX_INTERVAL_MS', async () => {
    const { versions, clock, history, edit } = setup({ quietMs: 5 * 60_000, maxIntervalMs: 30 * 60_000 })
    for (let minute = 0; minute <= 65; minute++) {
      history.edited('r', await edit('x'), [])
      await history.tick()
      clock.t += 60_000
    }
    const taken = await all(versions)
    expect(taken).toHaveLength(2)
    expect(taken[1]!.at - taken[0]!.at).toBeGreaterThanOrEqual(30 * 60_000)
  })

  it('an author whose edit a named version already covers is attributed to it, not to the next', async () => {
    const { versions, clock, history, edit } = setup()
    const seq = await edit('a')
    history.edited('r', seq, [{ id: 'carol', connection: 3, name: () => undefined }])
    const named = await history.take({ name: 'r', encodeState: async () => new Uint8Array([0, 0]), catchUpFromStore: async () => {} }, 'named', 'N')
    expect(named.authors).toEqual([{ id: 'carol' }])
    clock.t += 60 * 60_000
    await history.tick()
    expect(await all(versions)).toHaveLength(1)
  })
})

describe('retention, fake clock', () => {
  it('keeps every version for a day, then one per hour for 30 days, then one per day; named versions always', async () => {
    const { versions, clock, history } = setup()
    const now = clock.t
    const state = new Uint8Array([0, 0])
    const at = async (ageMs: number, kind: 'auto' | 'named' | 'before-restore' = 'auto', name: string | null = null) =>
      (await versions.take({ room: 'r', seq: 1, at: now - ageMs, name, kind, state }, { authors: [] })).version!.id
    const fresh = [await at(1000), await at(HOUR + 5), await at(20 * HOUR)] // younger than a day: all kept
    // Two days ago, one hour: three versions in it, the newest kept.
    const hourBase = 2 * DAY + 30 * 60_000
    const hourDrop1 = await at(hourBase + 20 * 60_000)
    const hourDrop2 = await at(hourBase + 10 * 60_000, 'before-restore')
    const hourKeep = await at(hourBase)
    const otherHour = await at(2 * DAY + 2 * HOUR)
    // Sixty days ago (UTC noon): a day with four versions, the newest kept, a named one too.
    const dayBase = 60 * DAY
    const dayDrop = [await at(dayBase + 3 * HOUR), await at(dayBase + 2 * HOUR)]
    const named = await at(dayBase + HOUR, 'named', 'Chapter 1')
    const dayKeep = await at(dayBase)
    clock.t = now
    await history.sweep()
    const left = (await all(versions)).map((v) => v.id)
    expect(left.sort((a, b) => a - b)).toEqual([...fresh, hourKeep, otherHour, named, dayKeep].sort((a, b) => a - b))
    for (const id of [hourDrop1, hourDrop2, ...dayDrop]) expect(left).not.toContain(id)

    // A month later, the hourly ones of then are thinned to one a day.
    clock.t = now + 40 * DAY
    await history.sweep()
    const later = (await all(versions)).map((v) => v.id)
    expect(later).toContain(named)
    expect(later).toContain(dayKeep)
    expect(later.filter((id) => [...fresh, hourKeep, otherHour].includes(id)).length).toBeLessThan(5)
  })

  it('the newest version is kept whatever its age', () => {
    expect(toThin([{ id: 1, at: 0, name: null, kind: 'auto' }], 1000 * DAY, { keepAllMs: DAY, hourlyMs: 30 * DAY })).toEqual([])
  })
})
