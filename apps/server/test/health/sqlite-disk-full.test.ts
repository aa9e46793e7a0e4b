import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import * as Y from 'yjs'
import { afterEach, describe, expect, it } from 'vitest'
import { until } from '../helpers/wait.js'
import { healthUntil, healthz, writer } from './harness.js'
import { requireMountNamespace, spawnOnTmpfs, type TmpfsServer } from './tmpfs-server.js'

/**
 * A real full disk under the SQLite store: the server runs on an 8 MiB tmpfs of its own
 * (tmpfs-server.ts) and the test fills it. Writes that need space are refused (1011) and
 * /healthz says `down` (503) until a write can be stored again; the WAL checkpoint worker, which
 * fails meanwhile, comes back by itself once there is space. No restart anywhere.
 */
const TMPFS_BYTES = 8 * 1024 * 1024
const CHUNK = 'x'.repeat(32 * 1024)

let server: TmpfsServer | undefined
afterEach(async () => {
  await server?.stop()
  server = undefined
})

/** The WAL header's checkpoint sequence number: SQLite bumps it each time a writer restarts the WAL. */
function walCheckpointSeq(walFile: string): number {
  const fd = openSync(walFile, 'r')
  try {
    const header = Buffer.alloc(32)
    if (readSync(fd, header, 0, 32, 0) < 32) return -1
    return header.readUInt32BE(12)
  } finally {
    closeSync(fd)
  }
}

/** Writes `file` until the file system has no block left (ENOSPC). */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w')
  try {
    for (const size of [1024 * 1024, 4096]) {
      const block = Buffer.alloc(size, 1)
      for (;;) {
        try {
          writeSync(fd, block)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break
          throw err
        }
      }
    }
  } finally {
    closeSync(fd)
  }
}

describe('/healthz when the SQLite disk is full', () => {
  it('writes refused → 503 down (writes-failing); space back → 200 ok and the checkpoint worker is back, without a restart', async () => {
    requireMountNamespace()
    server = await spawnOnTmpfs(TMPFS_BYTES, {
      // Nothing may free pages behind the test's back: no compaction, no rate limit to wait on.
      COMPACT_AFTER_UPDATES: '10000000',
      COMPACT_AFTER_BYTES: '1073741824',
      RATE_LIMIT_BYTES_PER_SEC: '0',
    })
    const s = server
    const wal = join(s.dataDir, 'tandem.sqlite-wal')
    const stderrCount = (re: RegExp) => s.stderr().split('\n').filter((l) => re.test(l)).length

    // One editor's document: each edit appends 32 KiB of text (a 32 KiB update, a ~9-page row).
    const doc = new Y.Doc()
    let last: Uint8Array = new Uint8Array()
    doc.on('update', (u: Uint8Array) => (last = u))
    const edit = (text = CHUNK) => {
      doc.getText('t').insert(doc.getText('t').length, text)
      return last
    }
    const w = await writer(s.wsUrl, 'full')
    let savedChars = 0
    const save = async (text = CHUNK) => {
      expect(await w.write(edit(text))).toBe('saved')
      savedChars = doc.getText('t').length
    }

    // 1. ~1.5 MiB of WAL, copied into the database by the worker; then the WAL restarts and that
    //    space is reused. After the disk fills, commits still fit in the WAL for a while, but
    //    the checkpoints that must grow the database file cannot.
    for (let i = 0; i < 40; i++) await save()
    const before = walCheckpointSeq(wal)
    await until(async () => {
      await save('.')
      return walCheckpointSeq(wal) !== before
    }, 'the worker checkpointed everything and the WAL restarted')
    expect(await healthz(s.url)).toMatchObject({ code: 200, body: { status: 'ok', store: { kind: 'sqlite', state: 'ok' } } })

    // 2. The disk fills up.
    fillDisk(join(s.dataDir, 'filler'))
    await save()
    await until(() => stderrCount(/WAL checkpoints failing/) === 1, 'the worker’s checkpoint failing for lack of space')
    // Still storing: a failing checkpoint is not an outage (it shows in the detail).
    const checkpointing = await healthz(s.url)
    expect(checkpointing).toMatchObject({ code: 200, body: { status: 'ok', store: { state: 'ok' } } })
    expect(checkpointing.body.store.detail).toMatch(/WAL checkpoint worker failing/)

    // 3. The WAL needs to grow: the write is refused (1011), and the server says so.
    let refused: 'saved' | { closed: number } = 'saved'
    for (let i = 0; i < 200 && refused === 'saved'; i++) {
      refused = await w.write(edit())
      if (refused === 'saved') savedChars = doc.getText('t').length
    }
    expect(refused).toEqual({ closed: 1011 })
    for (let i = 0; i < 3; i++) {
      const down = await healthz(s.url)
      expect(down.code).toBe(503)
      expect(down.body).toMatchObject({ status: 'down', store: { kind: 'sqlite', state: 'down', ok: false, reason: 'writes-failing' } })
      expect(down.body.store.detail).toMatch(/SQLITE_FULL|disk is full/)
    }
    await until(() => stderrCount(/health: ok → down/) === 1, 'the transition logged')
    expect(stderrCount(/sqlite: writes failing/)).toBe(1)

    // 4. Space again. No client writes: the health probe's own write proves it, so a server that
    //    a load balancer took out of rotation comes back.
    rmSync(join(s.dataDir, 'filler'))
    const back = await healthUntil(s.url, '200 ok once writes succeed', (h) => h.code === 200)
    expect(back.body).toMatchObject({ status: 'ok', store: { kind: 'sqlite', state: 'ok', ok: true } })
    expect(back.body.store.reason).toBeUndefined()
    // The log line travels on the server's stderr, which may arrive after the HTTP answer.
    await until(() => stderrCount(/sqlite: writes succeed again/) === 1, 'the store’s recovery logged')
    await until(() => stderrCount(/health: down → ok/) === 1, 'the recovery logged')

    // 5. The checkpoint worker is back by itself, and does the checkpoints again: the WAL restarts
    //    after a few small commits, far below the 1000 pages at which SQLite would checkpoint
    //    inside a commit.
    await until(() => stderrCount(/WAL checkpoints succeed again/) === 1, 'the checkpoint worker recovered')
    expect((await healthz(s.url)).body.store.detail).toBeUndefined()
    const again = await writer(s.wsUrl, 'full')
    // What the refused write carried, resent the way a client does after 1011: its whole state.
    expect(await again.write(Y.encodeStateAsUpdate(doc))).toBe('saved')
    const restarted = walCheckpointSeq(wal)
    await until(async () => {
      expect(await again.write(edit('.'))).toBe('saved')
      return walCheckpointSeq(wal) !== restarted
    }, 'the WAL restarted after a worker checkpoint')

    // Everything acknowledged before the disk filled, and the resent edit, is stored.
    const stored = new Y.Doc()
    Y.applyUpdate(stored, new Uint8Array(await (await fetch(`${s.url}/api/rooms/full/state`)).arrayBuffer()))
    expect(stored.getText('t').length).toBe(doc.getText('t').length)
    expect(doc.getText('t').length).toBeGreaterThan(savedChars)
    again.close()
    w.close()
  })
})
