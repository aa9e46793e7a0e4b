import { describe, expect, it } from 'vitest'
import { relay } from '../../src/update/relay.js'
import type { Arrival, CommitRoom, RoomCommit, UpdateSender } from '../../src/update/commit.js'
import { LOAD_ORIGIN } from '../../src/room/tx-origins.js'

const sender: UpdateSender = { txOrigin: LOAD_ORIGIN, acks: undefined, send: () => {}, close: () => {} }
const room = { name: 'r' } as CommitRoom
const arrival: Arrival = { room, update: new Uint8Array([0, 0]), info: { hasContent: true, structs: 1, types: 0 }, from: sender, message: 1, frame: undefined }
const commit = (resolved: boolean): RoomCommit => ({ arrivals: [arrival], update: new Uint8Array([0, 0]), frame: undefined, resolved, seq: 1 })

describe('relay (update path, stage 4)', () => {
  it('a lone sender does not get its own update back', () => {
    const excluded: Array<UpdateSender | undefined> = []
    relay(commit(false), (_frame, except) => excluded.push(except))
    expect(excluded).toEqual([sender])
  })

  // Root cause: parked parts that resolved were merged into the row of a commit whose only
  // arrival came from one connection, and the relay skipped that connection as "the sender":
  // its client never received the resolved parts (two servers diverged from their clients).
  it('a row that also carries resolved parked parts goes to every peer, the sender too', () => {
    const excluded: Array<UpdateSender | undefined> = []
    relay(commit(true), (_frame, except) => excluded.push(except))
    expect(excluded).toEqual([undefined])
  })
})
