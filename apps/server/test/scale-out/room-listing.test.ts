// GET /api/rooms with several servers: `clients` counts every server's connections (each server
// keeps its counts in Redis, fanout/redis-clients.ts), and a server that dies stops being counted
// once its heartbeat is missed.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createCluster, requirePostgres, requireRedis } from '../helpers/services.js'
import { DocClient } from '../hostile/harness.js'
import { until } from '../helpers/wait.js'

let pgUrl = ''
let redisUrl = ''
beforeAll(async () => {
  pgUrl = await requirePostgres()
  redisUrl = await requireRedis()
})

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => {})
})

async function clientsOf(url: string, room: string): Promise<number | undefined> {
  const body = (await (await fetch(`${url}/api/rooms?prefix=${encodeURIComponent(room)}`)).json()) as { rooms: Array<{ name: string; clients: number }> }
  return body.rooms.find((r) => r.name === room)?.clients
}

describe('room listing with several servers', () => {
  it("counts the clients of every server, and forgets a server that was killed", { timeout: 60_000 }, async () => {
    const c = await createCluster({ pg: pgUrl, redis: redisUrl }, cleanups)
    const [a, b] = await Promise.all([c.start(), c.start()])
    const room = 'listed-across'
    const onA1 = await DocClient.open(a.wsUrl, room)
    const onA2 = await DocClient.open(a.wsUrl, room)
    const onB = await DocClient.open(b.wsUrl, room)
    cleanups.push(() => onA1.close(), () => onA2.close(), () => onB.close())
    onA1.doc.getText('t').insert(0, 'stored, so listed')
    await onB.raw.when(() => onB.text() === 'stored, so listed', 'the edit relayed to B')

    // 2 on A + 1 on B, seen from either server.
    await until(async () => (await clientsOf(a.url, room)) === 3, 'A to list 3 clients')
    await until(async () => (await clientsOf(b.url, room)) === 3, 'B to list 3 clients')

    onA2.close()
    await until(async () => (await clientsOf(b.url, room)) === 2, 'B to list 2 clients after one left A')

    // B dies without a goodbye: A stops counting its client once B's heartbeats are missed.
    b.child.kill('SIGKILL')
    await b.exited
    await until(async () => (await clientsOf(a.url, room)) === 1, "A to stop counting the killed server's client")
    expect(await clientsOf(a.url, room)).toBe(1)
  })
})
