// DELETE /api/rooms/<room> with several servers: the server that deletes tells the others over
// the fan-out, and they close the room's connections (4404) and drop it without a snapshot, so
// nobody keeps editing (or writes back) a deleted room.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createCluster, requirePostgres, requireRedis } from '../helpers/services.js'
import { DocClient } from '../hostile/harness.js'

let pgUrl = ''
let redisUrl = ''
beforeAll(async () => {
  pgUrl = await requirePostgres()
  redisUrl = await requireRedis()
})
afterAll(() => {})

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => {})
})

async function stateText(url: string, room: string): Promise<string> {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, new Uint8Array(await (await fetch(`${url}/api/rooms/${room}/state`)).arrayBuffer()))
  return doc.getText('t').toString()
}

describe('DELETE with several servers', () => {
  it("the other servers close the room's connections with 4404 and drop it; a later open is empty everywhere", { timeout: 60_000 }, async () => {
    const c = await createCluster({ pg: pgUrl, redis: redisUrl }, cleanups)
    const [a, b] = await Promise.all([c.start(), c.start()])
    const room = 'deleted-everywhere'
    const onA = await DocClient.open(a.wsUrl, room)
    const onB = await DocClient.open(b.wsUrl, room)
    cleanups.push(() => onA.close(), () => onB.close())
    onA.doc.getText('t').insert(0, 'written on A')
    await onB.raw.when(() => onB.text() === 'written on A', 'the edit relayed to B')

    const res = await fetch(`${a.url}/api/rooms/${room}`, { method: 'DELETE' })
    expect(res.status).toBe(204)
    expect(await onA.raw.closedWithin(10_000, 'A\'s client closed 4404')).toEqual({ code: 4404, reason: 'room deleted' })
    expect(await onB.raw.closedWithin(10_000, 'B\'s client closed 4404 (told over the fan-out)')).toEqual({ code: 4404, reason: 'room deleted' })

    expect(await stateText(a.url, room)).toBe('')
    expect(await stateText(b.url, room)).toBe('')
    const fresh = await DocClient.open(b.wsUrl, room)
    cleanups.push(() => fresh.close())
    expect(fresh.text()).toBe('')
  })
})
