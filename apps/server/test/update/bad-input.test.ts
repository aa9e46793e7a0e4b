import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { startServer, type RunningServer } from '../helpers/server.js'
import { closeOf, rawSocket, synced, text, upgradeStatus, yws } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'

/** Builds a frame by hand: [varUint type, ...fields]. */
function frame(write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder()
  write(e)
  return encoding.toUint8Array(e)
}

/** An awareness message with one entry (client 1234, clock 1) whose state is `state`, as bytes. */
function awarenessFrame(state: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, 1)
    const inner = encoding.createEncoder()
    encoding.writeVarUint(inner, 1)
    encoding.writeVarUint(inner, 1234)
    encoding.writeVarUint(inner, 1)
    encoding.writeVarUint8Array(inner, state)
    encoding.writeVarUint8Array(e, encoding.toUint8Array(inner))
  })
}

function validUpdate(content: string): Uint8Array {
  const d = new Y.Doc()
  d.getText('t').insert(0, content)
  return Y.encodeStateAsUpdate(d)
}

const syncUpdate = (update: Uint8Array) =>
  frame((e) => {
    encoding.writeVarUint(e, 0)
    encoding.writeVarUint(e, 2)
    encoding.writeVarUint8Array(e, update)
  })

let s: RunningServer
beforeAll(async () => {
  s = await startServer({ MAX_PAYLOAD_BYTES: String(64 * 1024) })
})
afterAll(() => s.close())

const truncatedUpdate = () => {
  const u = validUpdate('this update will be cut short')
  return u.subarray(0, u.length - 7)
}

const cases: Array<{ name: string; send: Uint8Array | string; code: number }> = [
  { name: 'text frame', send: 'hello, I am text', code: 1003 },
  { name: 'garbage bytes', send: new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), code: 1007 },
  { name: 'empty frame', send: new Uint8Array([]), code: 1007 },
  { name: 'truncated varint', send: new Uint8Array([0x80]), code: 1007 },
  { name: 'unknown message type', send: new Uint8Array([42]), code: 1007 },
  { name: 'unknown sync type', send: new Uint8Array([0, 9, 0]), code: 1007 },
  { name: 'length pointing past the end', send: new Uint8Array([0, 2, 100, 1, 2, 3]), code: 1007 },
  { name: 'trailing bytes', send: new Uint8Array([3, 0, 0]), code: 1007 },
  { name: 'invalid Yjs update', send: syncUpdate(new Uint8Array([5, 200, 1, 2, 3, 4, 5, 6, 7])), code: 1007 },
  { name: 'truncated Yjs update (would half-apply)', send: syncUpdate(truncatedUpdate()), code: 1007 },
  { name: 'awareness with invalid JSON', send: awarenessFrame(new TextEncoder().encode('{not json')), code: 1007 },
  // A y-protocols client decodes states with a fatal UTF-8 decoder: this would throw in every peer.
  // (An overlong "/" inside a JSON string.)
  { name: 'awareness state that is not UTF-8', send: awarenessFrame(new Uint8Array([0x22, 0xc0, 0xaf, 0x22])), code: 1007 },
  { name: 'oversized frame', send: new Uint8Array(65 * 1024).fill(1), code: 1009 },
]

describe('bad input closes only the offending connection', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const room = `bad-${c.name}`
      const a = yws(s.wsUrl, room)
      const b = yws(s.wsUrl, room)
      try {
        await Promise.all([synced(a.provider), synced(b.provider)])
        a.doc.getText('t').insert(0, 'intact')
        await until(() => text(b.doc) === 'intact', 'first edit relayed')
        const before = Y.encodeStateVector(b.doc)

        const evil = await rawSocket(s.wsUrl, room)
        const closed = closeOf(evil)
        evil.send(c.send)
        expect((await closed).code).toBe(c.code)

        // The document is unchanged and the room still works for everyone else.
        expect(Y.encodeStateVector(b.doc)).toEqual(before)
        a.doc.getText('t').insert(6, ' and alive')
        await until(() => text(b.doc) === 'intact and alive', 'room still relays')
        const state = new Uint8Array(await (await fetch(`${s.url}/api/rooms/${encodeURIComponent(room)}/state`)).arrayBuffer())
        const check = new Y.Doc()
        Y.applyUpdate(check, state)
        expect(text(check)).toBe('intact and alive')
      } finally {
        a.destroy()
        b.destroy()
      }
    })
  }

  it('counts every rejected frame by reason in /metrics', async () => {
    const metrics = await (await fetch(`${s.url}/metrics`)).text()
    expect(metrics).toMatch(/tandem_rejected_frames_total\{reason="text-frame"\} [1-9]/)
    expect(metrics).toMatch(/tandem_rejected_frames_total\{reason="invalid-update"\} [1-9]/)
    expect(metrics).toMatch(/tandem_rejected_frames_total\{reason="too-big"\} [1-9]/)
  })

  it('refuses unusable room paths with 400 before the socket opens', async () => {
    for (const path of ['/', '/%E0%A4%A', '/bad%00name', '/%1Fctl', '/' + 'x'.repeat(300)]) {
      expect(await upgradeStatus(`${s.wsUrl}${path}`), path).toBe(400)
    }
    expect(await upgradeStatus(`${s.wsUrl}/fine`)).toBe(101)
  })

  it('a connection cannot change awareness states of client ids another connection introduced', async () => {
    const room = 'spoof'
    const victim = yws(s.wsUrl, room)
    const watcher = yws(s.wsUrl, room)
    try {
      await Promise.all([synced(victim.provider), synced(watcher.provider)])
      victim.provider.awareness.setLocalStateField('user', { name: 'victim' })
      const id = victim.doc.clientID
      await until(() => (watcher.provider.awareness.getStates().get(id)?.user as { name?: string } | undefined)?.name === 'victim', 'victim presence')
      const evil = await rawSocket(s.wsUrl, room)
      const spoof = frame((e) => {
        encoding.writeVarUint(e, 1)
        const inner = encoding.createEncoder()
        encoding.writeVarUint(inner, 1)
        encoding.writeVarUint(inner, id)
        encoding.writeVarUint(inner, 1_000_000)
        encoding.writeVarString(inner, JSON.stringify({ user: { name: 'EVIL' } }))
        encoding.writeVarUint8Array(e, encoding.toUint8Array(inner))
      })
      evil.send(spoof)
      // A marker sent after the spoof proves the spoof was processed (frames are handled in order).
      victim.provider.awareness.setLocalStateField('user', { name: 'victim2' })
      await until(() => (watcher.provider.awareness.getStates().get(id)?.user as { name?: string } | undefined)?.name === 'victim2', 'marker')
      expect((watcher.provider.awareness.getStates().get(id)?.user as { name?: string } | undefined)?.name).toBe('victim2')
      evil.close()
    } finally {
      victim.destroy()
      watcher.destroy()
    }
  })
})
