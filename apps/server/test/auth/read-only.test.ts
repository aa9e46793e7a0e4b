import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import * as awarenessProtocol from 'y-protocols/awareness'
import { MessageType, readFrame, writeAwareness, writeSyncStep1, writeSyncStep2, writeSyncUpdate } from '@tandem/sync'
import { SyncProvider } from '@tandem/sync/provider'
import { startServer, tempDir, type RunningServer } from '../helpers/server.js'
import { closeOf } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { SECRET, get, recordingSocket, token, withToken } from '../helpers/auth.js'

/**
 * Read access (README "Access control"; docs/architecture.md, "Read access never writes"): the
 * server never applies, stores or relays a document update from that connection, and awareness
 * still flows. Proved end to end: other clients, the state endpoint, and the store after a restart
 * never see a read connection's update, while its presence reaches everyone. The read-only peer is
 * told once, then closed with 1008.
 */
const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

const ROOM = 'doc'
const isType = (t: number) => (f: Uint8Array) => f[0] === t
const kind = (f: Uint8Array) => readFrame(f).type

function textUpdate(text: string): Uint8Array {
  const d = new Y.Doc()
  d.getText('t').insert(0, text)
  return Y.encodeStateAsUpdate(d)
}

async function provider(s: RunningServer, access: 'write' | 'read', name: string) {
  const doc = new Y.Doc()
  const p = new SyncProvider({ url: s.wsUrl, room: ROOM, doc, WebSocket, token: () => token({ access, sub: name }) })
  cleanup.push(() => p.destroy())
  p.awareness.setLocalStateField('user', { name })
  await until(() => p.synced, `${name} synced`)
  return p
}

async function stateText(s: RunningServer): Promise<string> {
  const r = await get(`${s.url}/api/rooms/${ROOM}/state`, { Authorization: `Bearer ${await token({ access: 'read' })}` })
  expect(r.status).toBe(200)
  const d = new Y.Doc()
  Y.applyUpdate(d, r.body)
  return d.getText('t').toString()
}

describe('read access', () => {
  it("a read token's update never reaches other clients, the state endpoint, or the store (restart and check)", async () => {
    const dataDir = tempDir()
    let s = await startServer({ AUTH_SECRET: SECRET, DATA_DIR: dataDir })
    cleanup.push(() => s.close())
    const watcher = await provider(s, 'write', 'watcher')
    const writer = await provider(s, 'write', 'writer')

    const reader = await recordingSocket(withToken(s.wsUrl, ROOM, await token({ access: 'read', sub: 'reader' })))
    cleanup.push(() => reader.ws.terminate())
    await reader.next(isType(MessageType.Sync)) // the server's sync step 1: joined

    // Every way an update can travel: sync update, and sync step 2 (the reply to our step 1).
    reader.ws.send(writeSyncUpdate(textUpdate('READ-ONLY-UPDATE ')))
    // The server handles one connection's frames in order: the reply to this step 1 arrives
    // only after the update above was handled (and refused).
    reader.ws.send(writeSyncStep1(new Y.Doc()))
    await reader.next((f) => kind(f) === 'sync-step2')
    const denied = reader.frames.filter((f) => kind(f) === 'auth-denied')
    expect(denied).toHaveLength(1) // told once …
    expect(reader.ws.readyState).toBe(WebSocket.OPEN) // … and not yet closed

    // A writer's edit made AFTER the refused update: commits are in order, so once the watcher
    // has the writer's edit, it would already have the reader's had it been accepted.
    writer.doc.getText('t').insert(0, 'WRITER ')
    await until(() => watcher.doc.getText('t').toString().includes('WRITER'), 'writer edit at the watcher')
    expect(watcher.doc.getText('t').toString()).toBe('WRITER ')
    expect(await stateText(s)).toBe('WRITER ')

    // It persists: closed with 1008, and a step 2 carrying an update is refused the same way.
    const closed = closeOf(reader.ws)
    reader.ws.send(writeSyncStep2(textUpdate('READ-ONLY-STEP2 ')))
    expect(await closed).toEqual({ code: 1008, reason: 'read-only' })
    // Only the offender: the others keep syncing.
    writer.doc.getText('t').insert(7, 'AGAIN ')
    await until(() => watcher.doc.getText('t').toString() === 'WRITER AGAIN ', 'writer still relayed')

    // The store: restart on the same DATA_DIR and read the document back.
    watcher.destroy()
    writer.destroy()
    await s.close()
    s = await startServer({ AUTH_SECRET: SECRET, DATA_DIR: dataDir })
    cleanup.push(() => s.close())
    const after = await stateText(s)
    expect(after).toBe('WRITER AGAIN ')
    expect(after).not.toContain('READ-ONLY')
  })

  it("a read connection's awareness (presence, caret) still reaches everyone, both ways", async () => {
    const s = await startServer({ AUTH_SECRET: SECRET })
    cleanup.push(() => s.close())
    const writer = await provider(s, 'write', 'Writer')
    const reader = await provider(s, 'read', 'Viewer')
    const names = (p: SyncProvider) => [...p.awareness.getStates().values()].map((st) => (st.user as { name?: string } | undefined)?.name)
    await until(() => names(writer).includes('Viewer'), "the viewer's presence at the writer")
    await until(() => names(reader).includes('Writer'), "the writer's presence at the viewer")
    // A caret move: an awareness update, not a document update, so it flows.
    reader.awareness.setLocalStateField('cursor', { anchor: 3, head: 3 })
    await until(() => [...writer.awareness.getStates().values()].some((st) => (st.cursor as { head?: number } | undefined)?.head === 3), 'caret at the writer')
    // And the viewer receives the document live.
    writer.doc.getText('t').insert(0, 'live to viewers')
    await until(() => reader.doc.getText('t').toString() === 'live to viewers', 'edit at the viewer')
    expect(reader.status).toBe('connected')
  })

  it('a SyncProvider with a read token that edits locally is told, then closed with 1008; its edit reaches no one', async () => {
    const s = await startServer({ AUTH_SECRET: SECRET })
    cleanup.push(() => s.close())
    const writer = await provider(s, 'write', 'Writer')
    const reader = await provider(s, 'read', 'Viewer')
    const reasons: string[] = []
    const codes: number[] = []
    reader.on('status', (e) => {
      if (e.reason) reasons.push(e.reason)
      if (e.closeCode) codes.push(e.closeCode)
    })
    reader.doc.getText('t').insert(0, 'x')
    await until(() => reasons.some((r) => r.includes('read-only')), 'permission-denied reason at the viewer')
    reader.doc.getText('t').insert(1, 'y')
    await until(() => codes.includes(1008), 'viewer closed with 1008')
    // The viewer's edits were refused before its close; an edit made after that, once stored,
    // shows the document as it is: the writer's letter alone.
    writer.doc.getText('t').insert(0, 'W')
    expect(await until(async () => ((await stateText(s)).includes('W') ? stateText(s) : undefined), 'writer edit stored')).toBe('W')
    expect(writer.doc.getText('t').toString()).toBe('W')
  })

  it('a raw awareness frame from a read connection is relayed (no document bytes involved)', async () => {
    const s = await startServer({ AUTH_SECRET: SECRET })
    cleanup.push(() => s.close())
    const writer = await provider(s, 'write', 'Writer')
    const reader = await recordingSocket(withToken(s.wsUrl, ROOM, await token({ access: 'read' })))
    cleanup.push(() => reader.ws.terminate())
    const aw = new awarenessProtocol.Awareness(new Y.Doc())
    aw.setLocalState({ user: { name: 'Raw viewer' } })
    reader.ws.send(writeAwareness(awarenessProtocol.encodeAwarenessUpdate(aw, [aw.clientID])))
    await until(() => (writer.awareness.getStates().get(aw.clientID)?.user as { name?: string } | undefined)?.name === 'Raw viewer', 'raw viewer presence')
    aw.destroy()
  })
})
