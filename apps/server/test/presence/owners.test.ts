import { describe, expect, it } from 'vitest'
import * as encoding from 'lib0/encoding'
import { ProtocolError, readAwarenessHeaders, readAwarenessUpdate } from '@tandem/sync'
import { Presence } from '../../src/presence/states.js'
import {
  MAX_REMOTE_IDS,
  MAX_RESERVED_PER_PRINCIPAL,
  MAX_RESERVED_PER_ROOM,
  MIN_ID_COST_BYTES,
  PresenceOwners,
  type PresenceClaimant,
} from '../../src/presence/owners.js'

/**
 * The presence rules of PresenceOwners (src/presence/owners.ts), unit by unit: who may change which
 * awareness client id (held, then reserved for the room's lifetime, reclaimable by the same
 * principal only), the bound on reservations, and the per-connection byte budget.
 */

/** An awareness update with the given entries, encoded the way y-protocols does. */
function update(entries: Array<[clientID: number, clock: number, state: unknown]>): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, entries.length)
  for (const [id, clock, state] of entries) {
    encoding.writeVarUint(e, id)
    encoding.writeVarUint(e, clock)
    encoding.writeVarString(e, JSON.stringify(state))
  }
  return encoding.toUint8Array(e)
}

interface Peer extends PresenceClaimant {
  name: string
}
const peer = (name: string, access: 'write' | 'read', principal?: string): Peer => ({ name, access, principal })

function room(limits = { maxAwarenessBytes: 64 * 1024, maxPresenceBytesPerConnection: 256 * 1024 }) {
  const presence = new Presence()
  const owners = new PresenceOwners<Peer>(presence, limits)
  return {
    presence,
    owners,
    /** what `p`'s update relays: [clientID, clock] of each kept entry */
    send(p: Peer, entries: Array<[number, number, unknown]>): Array<[number, number]> {
      const u = update(entries)
      return owners.receive(p, u, readAwarenessHeaders(u)).map((h) => [h.clientID, h.clock])
    },
    /** the state every joiner is handed for `id` */
    stateOf(id: number): unknown {
      return readAwarenessUpdate(presence.encode([id]))[0]?.state
    },
  }
}

function thrown(fn: () => unknown): ProtocolError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ProtocolError) return err
    throw err
  }
  throw new Error('did not throw')
}

describe('PresenceOwners: who may change which client id', () => {
  it('a held id is its holder\'s alone; other entries of the same update still pass', () => {
    const r = room()
    const a = peer('a', 'write', 'alice')
    const m = peer('m', 'write', 'mallory')
    expect(r.send(a, [[1, 1, { n: 'A' }]])).toEqual([[1, 1]])
    expect(r.send(m, [[1, 99, { n: 'EVIL' }], [2, 1, { n: 'M' }]])).toEqual([[2, 1]])
    expect(r.stateOf(1)).toEqual({ n: 'A' })
    expect(r.owners.heldIds().sort()).toEqual([1, 2])
  })

  it('auth on: a released id is reserved; a viewer or writer with another sub cannot claim it, the same sub can (even read-only)', () => {
    const r = room()
    const writer = peer('w', 'write', 'alice')
    r.send(writer, [[1, 5, { n: 'A' }]])
    const removal = r.owners.leave(writer)!
    expect(readAwarenessUpdate(removal)).toEqual([{ clientID: 1, clock: 6, state: null }])
    // Root cause guarded: the id was free again the moment its holder left.
    expect(r.send(peer('v', 'read', 'mallory'), [[1, 1e12, { n: 'EVIL' }]])).toEqual([])
    expect(r.send(peer('x', 'write', 'mallory'), [[1, 1e12, { n: 'EVIL' }]])).toEqual([])
    expect(r.send(peer('n', 'write'), [[1, 1e12, { n: 'EVIL' }]])).toEqual([]) // a token without sub
    expect(r.stateOf(1)).toBeUndefined()
    // The same user's other tab, a viewer's reconnect: same principal.
    const again = peer('w2', 'read', 'alice')
    expect(r.send(again, [[1, 7, { n: 'A again' }]])).toEqual([[1, 7]])
    expect(r.stateOf(1)).toEqual({ n: 'A again' })
  })

  it('no principal (open server, token without sub): a write connection may reclaim a released id, a read-only one never', () => {
    const r = room()
    const first = peer('a', 'write')
    r.send(first, [[1, 1, { n: 'A' }]])
    r.owners.leave(first)
    expect(r.send(peer('v', 'read'), [[1, 50, { n: 'viewer' }]])).toEqual([])
    expect(r.send(peer('w', 'write'), [[1, 3, { n: 'writer' }]])).toEqual([[1, 3]])
    expect(r.stateOf(1)).toEqual({ n: 'writer' })
    // A viewer's released id: a writer may reclaim it, another viewer may not.
    const viewer = peer('v2', 'read')
    r.send(viewer, [[2, 1, { n: 'V' }]])
    r.owners.leave(viewer)
    expect(r.send(peer('v3', 'read'), [[2, 9, {}]])).toEqual([])
    expect(r.send(peer('w3', 'write'), [[2, 9, {}]])).toEqual([[2, 9]])
  })

  it('a holder that announces its own removal (null) keeps the id, and sets a state on it again', () => {
    const r = room()
    const v = peer('v', 'read', 'vera')
    r.send(v, [[1, 1, { n: 'V' }]])
    expect(r.send(v, [[1, 1, null]])).toEqual([[1, 1]])
    expect(r.send(peer('m', 'write', 'mallory'), [[1, 5, { n: 'EVIL' }]])).toEqual([])
    expect(r.send(v, [[1, 2, { n: 'V back' }]])).toEqual([[1, 2]])
    expect(r.stateOf(1)).toEqual({ n: 'V back' })
  })

  it('an echo of another client\'s state (a y-websocket client re-broadcasts what it receives) claims nothing', () => {
    const r = room()
    // Client 1 lives on another server: its state reaches this room through the fan-out.
    expect(r.presence.applyFromServer(update([[1, 4, { n: 'remote' }]]))).toBe(true)
    const echoer = peer('e', 'write', 'eve')
    expect(r.send(echoer, [[1, 4, { n: 'remote' }]])).toEqual([[1, 4]]) // relayed (stale: receivers ignore it) …
    expect(r.owners.heldIds()).toEqual([]) // … but not held: leaving does not remove the remote client
    expect(r.owners.leave(echoer)).toBeUndefined()
    expect(r.stateOf(1)).toEqual({ n: 'remote' })
  })

  it('reservations are bounded per principal and per room, oldest freed first (its clock forgotten)', () => {
    const r = room()
    // One principal releasing many ids keeps only its newest MAX_RESERVED_PER_PRINCIPAL.
    const churner = peer('c', 'write', 'churn')
    const n = MAX_RESERVED_PER_PRINCIPAL + 10
    r.send(churner, Array.from({ length: n }, (_, i): [number, number, unknown] => [1000 + i, 1, {}]))
    r.owners.leave(churner)
    const other = peer('o', 'write', 'other')
    expect(r.send(other, [[1000, 9, {}]])).toEqual([[1000, 9]]) // evicted: free again
    expect(r.send(other, [[1000 + n - 1, 9, {}]])).toEqual([]) // newest: still reserved
    // An evicted id's clock is gone with it (the room does not keep every id it ever saw).
    expect(r.presence.changes(readAwarenessHeaders(update([[1001, 1, {}]]))[0]!)).toBe(true)

    // A victim's reservation survives one principal's churn …
    const r2 = room()
    const victim = peer('v', 'write', 'victim')
    r2.send(victim, [[1, 1, { n: 'V' }]])
    r2.owners.leave(victim)
    for (let k = 0; k < 200; k++) {
      const c = peer(`c${k}`, 'write', 'churn')
      r2.send(c, [[10_000 + k, 1, {}]])
      r2.owners.leave(c)
    }
    expect(r2.send(peer('m', 'write', 'churn'), [[1, 99, { n: 'EVIL' }]])).toEqual([])
    // … and the room's total is bounded whatever the number of principals.
    for (let k = 0; k < MAX_RESERVED_PER_ROOM + 5; k++) {
      const c = peer(`p${k}`, 'write', `principal-${k}`)
      r2.send(c, [[20_000 + k, 1, {}]])
      r2.owners.leave(c)
    }
    expect(r2.send(peer('m', 'write', 'churn'), [[1, 99, { n: 'EVIL' }]])).toEqual([[1, 99]]) // the oldest went first
    expect(r2.send(peer('m', 'write', 'late'), [[20_000 + MAX_RESERVED_PER_ROOM + 4, 9, {}]])).toEqual([])
  })
})

describe('PresenceOwners: MAX_PRESENCE_BYTES_PER_CONNECTION', () => {
  const limits = { maxAwarenessBytes: 4096, maxPresenceBytesPerConnection: 10_000 }
  const state = (bytes: number) => ({ s: 'x'.repeat(bytes - 10) }) // an entry of about `bytes` bytes

  it('bounds the total of one connection\'s states: the update that would pass it closes 1008, changing nothing', () => {
    const r = room(limits)
    const p = peer('p', 'read', 'stuffer')
    r.send(p, [[1, 1, state(4000)], [2, 1, state(4000)]])
    const err = thrown(() => r.send(p, [[3, 1, state(4000)]]))
    expect([err.closeCode, err.reason]).toEqual([1008, 'presence-over-budget'])
    expect(r.stateOf(3)).toBeUndefined()
    expect(r.owners.heldIds().sort()).toEqual([1, 2])
    // Replacing a state counts the new one instead of the old; others have budgets of their own.
    expect(r.send(p, [[2, 2, state(1000)]])).toEqual([[2, 2]])
    expect(r.send(p, [[3, 1, state(4000)]])).toEqual([[3, 1]])
    expect(r.send(peer('q', 'write', 'other'), [[4, 1, state(4000)], [5, 1, state(4000)]])).toEqual([[4, 1], [5, 1]])
  })

  it(`each id counts at least ${MIN_ID_COST_BYTES} bytes, removed states too: the number of ids is bounded`, () => {
    const r = room(limits)
    const p = peer('p', 'write')
    const max = Math.floor(limits.maxPresenceBytesPerConnection / MIN_ID_COST_BYTES)
    for (let id = 1; id <= max; id++) r.send(p, [[id, 1, {}]])
    for (let id = 1; id <= max; id++) r.send(p, [[id, 1, null]])
    const err = thrown(() => r.send(p, [[max + 1, 1, null]]))
    expect(err.reason).toBe('presence-over-budget')
  })

  it('leaving frees the budget: the ids are reserved, not held', () => {
    const r = room(limits)
    const p = peer('p', 'write', 'alice')
    r.send(p, [[1, 1, state(4000)], [2, 1, state(4000)]])
    r.owners.leave(p)
    const back = peer('p2', 'write', 'alice')
    expect(r.send(back, [[1, 2, state(4000)], [2, 2, state(4000)]])).toEqual([[1, 2], [2, 2]])
  })
})

describe('PresenceOwners: ids another server\'s connections use (the fan-out)', () => {
  it('a viewer here may never change it; a writer may (a user whose server died reconnects here with its id)', () => {
    const r = room()
    expect(r.owners.fromServer(update([[1, 4, { n: 'remote writer' }]]))).toBe(true)
    expect(r.send(peer('v', 'read', 'mallory'), [[1, 1e12, { n: 'EVIL' }]])).toEqual([])
    expect(r.stateOf(1)).toEqual({ n: 'remote writer' })
    // The other server goes on updating it.
    expect(r.owners.fromServer(update([[1, 5, { n: 'on A' }]]))).toBe(true)
    expect(r.stateOf(1)).toEqual({ n: 'on A' })
    // Its user reconnects here (server A died): its own state wins, and it holds the id here.
    const moved = peer('w', 'write', 'alice')
    expect(r.send(moved, [[1, 6, { n: 'moved here' }]])).toEqual([[1, 6]])
    expect(r.stateOf(1)).toEqual({ n: 'moved here' })
    expect(r.owners.heldIds()).toEqual([1])
  })

  it('once the other server removed it, a viewer still may not claim it; a writer may, and then holds it', () => {
    const r = room()
    r.owners.fromServer(update([[1, 4, { n: 'remote writer' }]]))
    expect(r.owners.fromServer(update([[1, 5, null]]))).toBe(true)
    expect(r.send(peer('v', 'read', 'mallory'), [[1, 1e12, { n: 'EVIL' }]])).toEqual([])
    expect(r.stateOf(1)).toBeUndefined()
    const back = peer('w', 'write', 'alice')
    expect(r.send(back, [[1, 6, { n: 'back here' }]])).toEqual([[1, 6]])
    expect(r.owners.heldIds()).toEqual([1])
    expect(r.send(peer('x', 'write', 'mallory'), [[1, 1e12, { n: 'EVIL' }]])).toEqual([])
  })

  it('an update failing the presence checks changes nothing and marks nothing', () => {
    const r = room()
    expect(r.owners.fromServer(update([[1, Number.MAX_SAFE_INTEGER, { n: 'x' }]]))).toBe(false)
    expect(r.stateOf(1)).toBeUndefined()
    expect(r.send(peer('v', 'read'), [[1, 1, { n: 'mine' }]])).toEqual([[1, 1]])
  })

  it(`remembers at most ${MAX_REMOTE_IDS} such ids, forgetting the least recently seen`, () => {
    const r = room()
    for (let id = 1; id <= MAX_REMOTE_IDS + 1; id++) r.owners.fromServer(update([[id, 1, null]]))
    // id 1 was forgotten: a viewer may claim it again; id 2 is still another server's.
    expect(r.send(peer('v', 'read'), [[1, 2, { n: 'v' }]])).toEqual([[1, 2]])
    expect(r.send(peer('v2', 'read'), [[2, 2, { n: 'v' }]])).toEqual([])
  })
})
