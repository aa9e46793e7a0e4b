// Durability of the outbox with the BUILT server (`pnpm build` first): kill -9 between a stored
// change and its delivery, then the event still arrives (from the restarted server, or from
// another server sharing PostgreSQL once the dead one's lease ran out).
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { removeDir, spawnServer, tempDir, type ChildServer } from '../helpers/server.js'
import { dropSchema, requirePostgres, uniqueName } from '../helpers/services.js'
import { until } from '../helpers/wait.js'
import { WEBHOOK_SECRET, startReceiver } from './receiver.js'
import { write } from './helpers.js'

let pgUrl = ''
beforeAll(async () => {
  pgUrl = await requirePostgres()
})
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => {})
})

async function spawn(env: Record<string, string>): Promise<ChildServer> {
  const s = await spawnServer({ WEBHOOK_SECRET, ...env }, { timeoutMs: 30_000 })
  cleanups.push(() => {
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL')
    return s.exited
  })
  return s
}

async function kill9(s: ChildServer): Promise<void> {
  s.child.kill('SIGKILL')
  expect((await s.exited).signal).toBe('SIGKILL')
}

describe('webhooks survive kill -9', () => {
  it('SQLite: changes stored but not yet delivered when the server is killed are delivered by the restarted server, in order', { timeout: 60_000 }, async () => {
    // Down while the first server runs: nothing can be delivered before the kill.
    const r = await startReceiver({ answer: () => 503 })
    cleanups.push(() => r.close())
    const dataDir = tempDir()
    cleanups.push(() => removeDir(dataDir))
    const env = { DATA_DIR: dataDir, WEBHOOK_URL: r.url, WEBHOOK_DEBOUNCE_MS: '300', WEBHOOK_MAX_WAIT_MS: '1000' }
    const first = await spawn(env)
    await write(first.url, 'killed')
    await write(first.url, 'killed')
    // The change row may or may not have become an event yet; room.created was tried (and refused).
    await until(() => r.all.length >= 1, 'a first (refused) attempt')
    await kill9(first)

    r.setAnswer(() => 200)
    const second = await spawn(env)
    // Both rows announced, after room.created (one document.changed, or two if the writes were
    // further apart than the debounce).
    const from = await until(() => r.accepted()[0]?.event.seq?.from, 'room.created from the restarted server', 30_000)
    await until(() => r.accepted().some((x) => x.event.seq?.to === from + 1 && x.event.type === 'document.changed'), 'both rows announced', 30_000)
    const got = r.accepted()
    expect(got[0]!.event.type).toBe('room.created')
    expect(got[0]!.event.id).toBe(r.all[0]!.event.id)
    const changes = got.slice(1).map((x) => x.event)
    expect(changes.every((e) => e.type === 'document.changed')).toBe(true)
    expect(changes[0]!.seq!.from).toBe(from)
    for (let i = 1; i < changes.length; i++) expect(changes[i]!.seq!.from).toBe(changes[i - 1]!.seq!.to + 1)
    expect(got.every((x) => x.verified)).toBe(true)
    // Written after the restart: announced too.
    await write(second.url, 'killed')
    const more = await r.waitFor(got.length + 1)
    expect(more.at(-1)!.event.type).toBe('document.changed')
    expect(more.at(-1)!.event.seq).toEqual({ from: from + 2, to: from + 2 })
  })

  it('PostgreSQL: a server killed mid-delivery leaves a lease; another server sharing the outbox delivers the event once it runs out', { timeout: 60_000 }, async () => {
    // Stuck at first: the first request is held open, never answered.
    const r = await startReceiver({ answer: () => 0 })
    cleanups.push(() => r.close())
    const schema = uniqueName('t_whk')
    cleanups.push(() => dropSchema(schema))
    const env = { DATABASE_URL: pgUrl, PG_SCHEMA: schema, WEBHOOK_URL: r.url, WEBHOOK_DEBOUNCE_MS: '300', WEBHOOK_MAX_WAIT_MS: '1000', WEBHOOK_TIMEOUT_MS: '1000' }
    const a = await spawn(env)
    await write(a.url, 'leased')
    await until(() => r.all.length >= 1, "A's delivery of room.created, held by the receiver")
    // B starts while A holds the lease: it must not send the event (nor the room's next one) meanwhile.
    r.setAnswer(() => 200)
    const b = await spawn(env)
    await kill9(a)
    const got = await r.waitFor(2, 'room.created and document.changed from B after the lease ran out', 30_000)
    expect(got.map((x) => x.event.type)).toEqual(['room.created', 'document.changed'])
    expect(got[0]!.event.id).toBe(r.all[0]!.event.id)
    // Once each: the held attempt, then B's.
    expect(r.all.filter((x) => x.event.id === got[0]!.event.id).map((x) => x.status)).toEqual([0, 200])
    expect((await fetch(`${b.url}/api/rooms/leased`, { method: 'DELETE' })).status).toBe(204)
    const all = await r.waitFor(3)
    expect(all[2]!.event.type).toBe('room.deleted')
  })
})
