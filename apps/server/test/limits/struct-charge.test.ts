// Each struct of an update costs STRUCT_COST (16) bytes of its sender's inbound byte budget on top
// of its wire size (limits/token-bucket.ts): tiny structs are ~2 bytes on the wire and ~120× that
// in memory, so a byte budget that only counted wire bytes let a sender grow a document far
// faster than its rate allows. The charge comes after the document budget (4413) and closes only
// the sender, 1008 `rate-limit-structs`.
import { afterEach, describe, expect, it } from 'vitest'
import { assertRoomWritable, DocClient, RawClient, Servers } from '../hostile/harness.js'
import { metric } from '../helpers/metrics.js'
import { manyMapEntries } from '../hostile/v1.js'

const servers = new Servers()
const cleanup: Array<() => void> = []
afterEach(async () => {
  for (const c of cleanup.splice(0)) c()
  await servers.closeAll()
})

describe('the struct charge', () => {
  it('an update whose wire bytes fit the byte budget but whose structs do not closes its sender 1008 rate-limit-structs; nothing of it stored; the room writes', async () => {
    const s = await servers.start({ MAX_PAYLOAD_BYTES: '65536', RATE_LIMIT_BYTE_BURST: '65536', RATE_LIMIT_BYTES_PER_SEC: '1024' })
    const room = 'struct-charge'
    const watcher = await DocClient.open(s.wsUrl, room)
    cleanup.push(() => watcher.close())

    // 4,000 map entries: ~48 KB on the wire (inside the 64 KiB burst), 64,000 bytes of struct charge.
    const update = manyMapEntries(4242, 4_000)
    expect(update.length).toBeLessThan(65_536)
    expect(update.length + 4_000 * 16).toBeGreaterThan(65_536)
    const evil = await RawClient.open(s.wsUrl, room)
    cleanup.push(() => evil.close())
    evil.sendUpdate(update)
    expect(await evil.closedWithin(10_000, 'the sender to be closed 1008 rate-limit-structs')).toEqual({ code: 1008, reason: 'rate-limit-structs' })
    expect(await metric(s, 'tandem_rejected_frames_total', 'rate-limit-structs')).toBe(1)

    await assertRoomWritable(s.wsUrl, room)
    expect(watcher.doc.getMap('m').size, 'nothing of the refused update was relayed').toBe(0)
    expect(watcher.raw.isOpen).toBe(true)
  })

  it('the same structs spread over time within the rate are accepted', async () => {
    const s = await servers.start({ MAX_PAYLOAD_BYTES: '65536', RATE_LIMIT_BYTE_BURST: '65536', RATE_LIMIT_BYTES_PER_SEC: '1024' })
    const room = 'struct-charge-ok'
    const watcher = await DocClient.open(s.wsUrl, room)
    cleanup.push(() => watcher.close())
    const honest = await RawClient.open(s.wsUrl, room)
    cleanup.push(() => honest.close())
    // 1,000 entries: ~12 KB + 16,000 bytes of charge, inside the burst.
    honest.sendUpdate(manyMapEntries(4243, 1_000))
    expect(await honest.barrier()).toBeUndefined()
    await watcher.raw.when(() => watcher.doc.getMap('m').size === 1_000, 'the 1,000 entries relayed')
  })
})
