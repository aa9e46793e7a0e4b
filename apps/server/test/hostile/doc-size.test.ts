// Root cause: nothing bounded how large one room's document could grow. Every accepted update is
// stored, kept in the room's Y.Doc and sent whole to every joiner, so one writer could grow a room
// without limit (each frame within MAX_PAYLOAD_BYTES and the byte rate limit, but no total) until
// loading it, compacting it or syncing it to a joiner exhausted the server's memory. The rule
// (docs/architecture.md, "Budgets"): MAX_DOC_BYTES bounds the estimated stored size of a room
// (snapshot + inserting updates since); past it, updates that insert are refused with 4413
// `doc-too-large`, while updates that only delete still pass (a full document can always be cleaned
// up).
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { assertCleanState, assertRoomWritable, Bystander, DocClient, MiB, RawClient, Servers } from './harness.js'

const servers = new Servers()
const cleanup: Array<() => void> = []
afterEach(async () => {
  for (const c of cleanup.splice(0)) c()
  await servers.closeAll()
})
function track<T extends { close(): void }>(c: T): T {
  cleanup.push(() => c.close())
  return c
}

const CHUNK = 300_000

describe('MAX_DOC_BYTES (1 MiB here)', () => {
  it('inserting past it is refused with 4413; a delete-only update is still accepted; other rooms are unaffected', { timeout: 60_000 }, async () => {
    const s = await servers.start({ MAX_DOC_BYTES: String(MiB) })
    const room = 'big-doc'
    const watcher = track(await DocClient.open(s.wsUrl, room))
    const bystander = track(await Bystander.open(s.wsUrl))

    const writerDoc = new Y.Doc()
    const updates: Uint8Array[] = []
    writerDoc.on('update', (u: Uint8Array) => updates.push(u))
    const inserter = track(await RawClient.open(s.wsUrl, room))
    let accepted = 0
    let refusedAt = 0
    for (let i = 1; i <= 6 && !refusedAt; i++) {
      writerDoc.getText('t').insert(writerDoc.getText('t').length, String(i % 10).repeat(CHUNK))
      inserter.sendUpdate(updates.at(-1)!)
      await inserter.barrier()
      // Either the server closes the inserter, or the chunk reaches the watcher (it was stored).
      await watcher.raw.when(() => watcher.text().length === i * CHUNK || inserter.closeInfo, `chunk ${i} relayed or refused`, 10_000)
      if (inserter.closeInfo) refusedAt = i
      else accepted = i
    }
    // 3 chunks (~900 KB) fit in 1 MiB; the 4th passes it (it may be the last one accepted,
    // depending on whether the check is "would pass" or "is past"); the 5th can never be.
    expect(accepted, 'chunks accepted before the first refusal').toBeGreaterThanOrEqual(3)
    expect(refusedAt, 'the chunk refused (0: none was)').toBeGreaterThanOrEqual(4)
    expect(refusedAt).toBeLessThanOrEqual(5)
    expect(inserter.closeInfo).toEqual({ code: 4413, reason: 'doc-too-large' })
    await bystander.roundTrip()
    // The refused chunk was neither relayed nor stored.
    expect(watcher.text().length).toBe(accepted * CHUNK)
    expect((await assertCleanState(s.url, room)).getText('t').length).toBe(accepted * CHUNK)

    // Deleting is always allowed: a fresh client deletes (almost) everything.
    const cleaner = track(await DocClient.open(s.wsUrl, room))
    expect(cleaner.text().length).toBe(accepted * CHUNK)
    cleaner.doc.getText('t').delete(0, accepted * CHUNK - 5)
    expect(await cleaner.raw.barrier()).toBeUndefined()
    await watcher.raw.when(() => watcher.text().length === 5 || cleaner.raw.closeInfo, 'the delete relayed', 10_000)
    expect(cleaner.raw.closeInfo, 'the delete-only update was refused').toBeUndefined()
    expect(watcher.text().length).toBe(5)
    expect((await assertCleanState(s.url, room)).getText('t').length).toBe(5)
    // Other rooms never noticed.
    await assertRoomWritable(s.wsUrl, 'another-room')
  })
})
