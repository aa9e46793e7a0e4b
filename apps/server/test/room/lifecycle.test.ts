import { afterEach, describe, expect, it } from 'vitest'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import * as Y from 'yjs'
import { startServer, type RunningServer } from '../helpers/server.js'
import { synced, text, yws } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import type { DocStore } from '../../src/store/types.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

async function server(env?: Record<string, string>, wrapStore?: (s: DocStore) => DocStore): Promise<RunningServer> {
  const s = await startServer(env, { wrapStore })
  cleanup.push(() => s.close())
  return s
}

describe('room lifecycle', () => {
  it('loads a room once when many clients join at the same moment', async () => {
    let loads = 0
    const s = await server({}, (store) => ({
      ...store,
      kind: store.kind,
      load: async (room) => {
        loads++
        // Make the load slow enough that every join lands while it is in flight.
        await new Promise((r) => setImmediate(r))
        return store.load(room)
      },
    }))
    const clients = Array.from({ length: 20 }, () => yws(s.wsUrl, 'storm'))
    cleanup.push(() => clients.forEach((c) => c.destroy()))
    await Promise.all(clients.map((c) => synced(c.provider)))
    expect(loads).toBe(1)
    clients[0]!.doc.getText('t').insert(0, 'everyone')
    await until(() => clients.every((c) => text(c.doc) === 'everyone'), 'all 20 see the edit')
  })

  it('unloads a room when the last client leaves, memory returns to baseline, and it reloads from disk', async () => {
    const s = await server()
    gc()
    const baseline = process.memoryUsage().heapUsed
    const rooms = 30
    const refs: WeakRef<Y.Doc>[] = []
    for (let r = 0; r < rooms; r++) {
      const c = yws(s.wsUrl, `unload-${r}`)
      await synced(c.provider)
      c.doc.getText('t').insert(0, `room ${r} `.repeat(2000)) // ~16 KB each
      await until(() => s.server.registry.rooms().find((x) => x.name === `unload-${r}`)?.doc.getText('t').length, 'applied')
      refs.push(new WeakRef(s.server.registry.rooms().find((x) => x.name === `unload-${r}`)!.doc))
      c.destroy()
    }
    await until(() => s.server.registry.size === 0, 'every room unloaded')
    const health = (await (await fetch(`${s.url}/healthz`)).json()) as { rooms: number; connections: number }
    expect(health.rooms).toBe(0)
    expect(health.connections).toBe(0)
    // Every Y.Doc is collectable: nothing (timers, listeners, maps) still references a room.
    await until(() => {
      gc()
      return refs.every((r) => r.deref() === undefined)
    }, 'room docs garbage-collected')
    gc()
    expect(process.memoryUsage().heapUsed - baseline).toBeLessThan(4 * 1024 * 1024)
    const again = yws(s.wsUrl, 'unload-7')
    cleanup.push(again.destroy)
    await synced(again.provider)
    expect(text(again.doc)).toBe('room 7 '.repeat(2000))
  })

  it('a client joining while the room unloads gets the stored document', async () => {
    const s = await server()
    for (let i = 0; i < 10; i++) {
      const a = yws(s.wsUrl, 'flap')
      await synced(a.provider)
      a.doc.getText('t').insert(0, String(i))
      await until(() => s.server.metrics.updatesStored.get().then((m) => m.values[0]!.value >= i + 1), 'stored')
      a.destroy()
      const b = yws(s.wsUrl, 'flap') // races the unload
      await synced(b.provider)
      await until(() => text(b.doc).length === i + 1, `state after flap ${i}`)
      b.destroy()
    }
  })

  it('compacts the log into a snapshot and a restart reads the snapshot', async () => {
    const s = await server({ COMPACT_AFTER_UPDATES: '10' })
    const a = yws(s.wsUrl, 'compact')
    await synced(a.provider)
    for (let i = 0; i < 35; i++) {
      a.doc.getText('t').insert(i, 'x')
      await until(() => s.server.registry.rooms()[0]?.doc.getText('t').length === i + 1, 'applied')
    }
    await until(async () => (await s.server.metrics.compactions.get()).values[0]!.value >= 3, 'compactions')
    a.destroy()
    await until(() => s.server.registry.size === 0, 'unloaded')
    await s.close()
    const db = new Database(join(s.dataDir, 'tandem.sqlite'), { readonly: true })
    const logRows = (db.prepare('SELECT count(*) AS n FROM updates').get() as { n: number }).n
    const snapshots = (db.prepare('SELECT count(*) AS n FROM snapshots').get() as { n: number }).n
    db.close()
    expect(logRows).toBe(0) // unload folded the tail too
    expect(snapshots).toBe(1)
    const s2 = await server({ DATA_DIR: s.dataDir })
    const b = yws(s2.wsUrl, 'compact')
    cleanup.push(b.destroy)
    await synced(b.provider)
    expect(text(b.doc)).toBe('x'.repeat(35))
  })

  it('quarantines a stored row that fails to load and still opens the room', async () => {
    const s = await server()
    const a = yws(s.wsUrl, 'q')
    await synced(a.provider)
    a.doc.getText('t').insert(0, 'good')
    await until(() => s.server.metrics.updatesStored.get().then((m) => m.values[0]!.value >= 1), 'stored')
    a.provider.disconnect() // keep the room's log: no unload snapshot while we corrupt it
    await s.close()
    const db = new Database(join(s.dataDir, 'tandem.sqlite'))
    db.prepare('DELETE FROM snapshots').run()
    const good = (db.prepare('SELECT data FROM updates').all() as { data: Buffer }[]).map((r) => r.data)
    if (good.length === 0) {
      // the unload compacted it: put the state back as a log row
      const d = new Y.Doc()
      d.getText('t').insert(0, 'good')
      db.prepare("INSERT INTO updates (room, seq, data) VALUES ('q', 1000, ?)").run(Buffer.from(Y.encodeStateAsUpdate(d)))
    }
    db.prepare("INSERT INTO updates (room, seq, data) VALUES ('q', 1001, ?)").run(Buffer.from([9, 9, 9, 9, 9]))
    db.close()
    a.destroy()

    const s2 = await server({ DATA_DIR: s.dataDir })
    const b = yws(s2.wsUrl, 'q')
    cleanup.push(b.destroy)
    await synced(b.provider)
    expect(text(b.doc)).toBe('good')
    expect((await s2.server.metrics.quarantinedRows.get()).values[0]!.value).toBe(1)
    await s2.close()
    const check = new Database(join(s.dataDir, 'tandem.sqlite'), { readonly: true })
    const q = check.prepare('SELECT room, reason, length(data) AS n FROM quarantine').all()
    check.close()
    expect(q).toEqual([{ room: 'q', reason: 'decode failed on load', n: 5 }])
  })
})
