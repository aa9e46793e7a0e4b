// Several servers sharing one PostgreSQL schema share one outbox: each event is delivered once
// (claims take rows with FOR UPDATE SKIP LOCKED and lease them), not once per server.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { requirePostgres, uniqueName, withPg } from '../helpers/services.js'
import { until } from '../helpers/wait.js'
import { startReceiver } from './receiver.js'
import { metricValue, webhookServer, write } from './helpers.js'

let pgUrl = ''
beforeAll(async () => {
  pgUrl = await requirePostgres()
})
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => {})
})

describe('webhooks with several servers on PostgreSQL', () => {
  it('two servers write and dispatch from one outbox: every event reaches the receiver once, rooms in order', { timeout: 60_000 }, async () => {
    const r = await startReceiver()
    cleanups.push(() => r.close())
    const schema = uniqueName('t_wh2')
    const env = { WEBHOOK_DEBOUNCE_MS: '100', WEBHOOK_MAX_WAIT_MS: '300' }
    const a = await webhookServer('postgres', pgUrl, r.url, env, cleanups, schema)
    // The second server shares the schema; the first one's cleanup drops it.
    const b = await webhookServer('sqlite', pgUrl, r.url, { ...env, DATABASE_URL: pgUrl, PG_SCHEMA: schema }, cleanups)
    const rooms = Array.from({ length: 8 }, (_, i) => `shared-${i}`)
    for (let round = 0; round < 3; round++) {
      await Promise.all(rooms.map((room, i) => write((i + round) % 2 === 0 ? a.url : b.url, room)))
    }
    // Every room announced: room.created, then changes up to the room's last stored row.
    // (a room the API released was unloaded: its rows folded into a snapshot at their last seq)
    const last = new Map(
      await withPg(async (c) => (await c.query<{ room: string; seq: string }>(`SELECT room, max(seq) AS seq FROM (SELECT room, seq FROM "${schema}".updates UNION ALL SELECT room, seq FROM "${schema}".snapshots) x GROUP BY room`)).rows.map((x) => [x.room, Number(x.seq)] as const)),
    )
    expect(last.size).toBe(rooms.length)
    await until(
      () =>
        rooms.every((room) => {
          const evs = r.accepted().filter((x) => x.event.room === room).map((x) => x.event)
          return evs[0]?.type === 'room.created' && evs.some((e) => e.type === 'document.changed' && e.seq!.to === last.get(room))
        }),
      "each room announced up to its last row",
      30_000,
    )
    await until(async () => (await metricValue(a.url, 'tandem_webhooks_queue_depth')) === 0, 'the shared outbox empty')
    // What both servers counted as sent is what arrived: no request still in flight.
    const sent = async () => (await metricValue(a.url, 'tandem_webhooks_sent_total')) + (await metricValue(b.url, 'tandem_webhooks_sent_total'))
    await until(async () => (await sent()) === r.accepted().length, 'sent counters match the requests received')
    const ids = r.all.map((x) => x.event.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(r.all.every((x) => x.verified)).toBe(true)
    for (const room of rooms) {
      const evs = r.accepted().filter((x) => x.event.room === room).map((x) => x.event)
      expect(evs[0]!.type).toBe('room.created')
      const changes = evs.filter((e) => e.type === 'document.changed')
      for (let i = 1; i < changes.length; i++) expect(changes[i]!.seq!.from).toBeGreaterThan(changes[i - 1]!.seq!.to)
    }
  })
})
