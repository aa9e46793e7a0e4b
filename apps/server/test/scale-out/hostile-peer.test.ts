// A peer server is as untrusted as a client (docs/security.md): whatever arrives on a room's Redis
// channel goes through the same gate as a client's update before this server applies or relays
// it. Here the "peer" is this test publishing on the channel directly, in the servers' own wire
// format (fanout/redis-wire.ts); a well-formed update from it is relayed (the control that shows
// the channel and format are right), the hostile ones are not, and nothing breaks.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { encodeWire, WireType } from '../../src/fanout/redis-wire.js'
import { createCluster, requirePostgres, requireRedis } from '../helpers/services.js'
import { assertRoomWritable, Bystander, DocClient } from '../hostile/harness.js'
import { bigDeleteSet, deepNesting } from '../hostile/v1.js'

let pgUrl = ''
let redisUrl = ''
let redis: Redis | undefined
beforeAll(async () => {
  pgUrl = await requirePostgres()
  redisUrl = await requireRedis()
  redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
})
afterAll(() => redis?.disconnect())

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => {})
})

/** An awareness update with one entry (y-protocols' layout), whatever its clock. */
function awarenessEntry(client: number, clock: number, state: string): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, client)
  encoding.writeVarUint(e, clock)
  encoding.writeVarString(e, state)
  return encoding.toUint8Array(e)
}

describe('a hostile peer server on the fan-out', () => {
  it('its poisoned, pending and undecodable updates and its bad presence are neither applied nor relayed; the room stays writable', { timeout: 60_000 }, async () => {
    const c = await createCluster({ pg: pgUrl, redis: redisUrl }, cleanups)
    const s = await c.start({ LOG_LEVEL: 'warn' })
    const room = 'peer-attack'
    const channel = `${c.prefix}:room:${room}`
    const watcher = await DocClient.open(s.wsUrl, room, { presence: { user: { name: 'watcher' } } })
    cleanups.push(() => watcher.close())
    const publish = (type: WireType, payload: Uint8Array) => redis!.publish(channel, encodeWire(type, 'evil-server', payload))

    // Control: a normal update published the way a peer server does reaches the watcher.
    const honest = new Y.Doc()
    honest.getText('t').insert(0, 'from a peer')
    await publish(WireType.Update, Y.encodeStateAsUpdate(honest))
    await watcher.raw.when(() => watcher.text() === 'from a peer', 'the peer server\'s update relayed')

    await publish(WireType.Update, deepNesting({ client: 5000, depth: 10_000 }))
    await publish(WireType.Update, bigDeleteSet(5001, 64 * 1024))
    await publish(WireType.Update, new TextEncoder().encode('not a yjs update'))
    await publish(WireType.Awareness, awarenessEntry(5002, Number.MAX_SAFE_INTEGER, '{"user":{"name":"clock"}}'))
    await publish(WireType.Awareness, awarenessEntry(5003, 1, '['.repeat(30_000) + ']'.repeat(30_000)))

    // A second control published after them: once it arrives, everything before it was handled.
    honest.getText('t').insert(honest.getText('t').length, '!')
    await publish(WireType.Update, Y.encodeStateAsUpdate(honest))
    await watcher.raw.when(() => watcher.text() === 'from a peer!', 'the second control relayed')

    expect(watcher.applyError).toBeUndefined()
    expect(watcher.awarenessError).toBeUndefined()
    expect(watcher.raw.isOpen).toBe(true)
    expect(watcher.doc.getArray('a').length, 'the deep array was not relayed').toBe(0)
    expect(watcher.doc.store.pendingDs, 'the pending delete set was not relayed').toBeNull()
    const states = watcher.awareness!.getStates()
    expect(states.has(5002) || states.has(5003), 'the bad presence was not relayed').toBe(false)

    await assertRoomWritable(s.wsUrl, room)
    const bystander = await Bystander.open(s.wsUrl)
    cleanups.push(() => bystander.close())
    await bystander.roundTrip()
    const state = await (await fetch(`${s.url}/api/rooms/${room}/state`)).arrayBuffer()
    const fresh = new Y.Doc()
    Y.applyUpdate(fresh, new Uint8Array(state))
    expect(fresh.getText('t').toString().startsWith('from a peer!')).toBe(true)
    expect(fresh.getArray('a').length).toBe(0)
    expect(s.child.exitCode).toBeNull()
  })
})
