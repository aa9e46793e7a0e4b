import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { decodeStateVector } from 'yjs'
import { spawnServer, tempDir, removeDir, type ChildServer } from '../helpers/server.js'
import { synced, text, yws } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'

const children: ChildServer[] = []
const dirs: string[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.child.kill('SIGKILL')
  for (const d of dirs.splice(0)) removeDir(d)
})

async function spawn(dataDir: string) {
  const s = await spawnServer({ DATA_DIR: dataDir })
  children.push(s)
  return s
}

/** Every clock the `seen` doc knows is also known by `restored`. */
function covers(restored: Y.Doc, seen: Y.Doc): boolean {
  const have = decodeStateVector(Y.encodeStateVector(restored))
  for (const [client, clock] of decodeStateVector(Y.encodeStateVector(seen))) {
    if ((have.get(client) ?? 0) < clock) return false
  }
  return true
}

describe('durability: relayed means stored, even on SIGKILL', () => {
  // Each round starts a server process: allow for a loaded 2-core CI machine.
  it('an update a peer received survives kill -9, round after round', { timeout: 120_000 }, async () => {
    const dataDir = tempDir()
    dirs.push(dataDir)
    const rounds = 15
    for (let i = 0; i < rounds; i++) {
      const s = await spawn(dataDir)
      const writer = yws(s.wsUrl, 'durable')
      const reader = yws(s.wsUrl, 'durable')
      try {
        await Promise.all([synced(writer.provider), synced(reader.provider)])
        const killed = new Promise<void>((resolve) => {
          // Kill the server the moment the peer has the update: nothing else gets a chance to run.
          reader.doc.on('update', () => {
            if (text(reader.doc).includes(`[${i}]`) && s.child.exitCode === null && !s.child.killed) {
              s.child.kill('SIGKILL')
              resolve()
            }
          })
        })
        writer.doc.getText('t').insert(text(writer.doc).length, `[${i}]`)
        await killed
        await s.exited
      } finally {
        writer.destroy()
        reader.destroy()
      }
    }
    const s = await spawn(dataDir)
    const check = yws(s.wsUrl, 'durable')
    try {
      await synced(check.provider)
      for (let i = 0; i < rounds; i++) expect(text(check.doc)).toContain(`[${i}]`)
    } finally {
      check.destroy()
    }
  })

  it('under a burst, everything any peer received is there after kill -9', { timeout: 120_000 }, async () => {
    const dataDir = tempDir()
    dirs.push(dataDir)
    for (let round = 0; round < 5; round++) {
      const s = await spawn(dataDir)
      const writers = [yws(s.wsUrl, 'burst'), yws(s.wsUrl, 'burst')]
      const reader = yws(s.wsUrl, 'burst')
      try {
        await Promise.all([...writers, reader].map((c) => synced(c.provider)))
        const base = text(reader.doc).length
        const killed = new Promise<void>((resolve) => {
          // Relays merge one turn's updates into one frame, so count content, not messages.
          reader.doc.on('update', () => {
            if (text(reader.doc).length >= base + 60 && s.child.exitCode === null && !s.child.killed) {
              s.child.kill('SIGKILL')
              resolve()
            }
          })
        })
        for (let i = 0; i < 100; i++) for (const w of writers) w.doc.getText('t').insert(0, String(i % 10))
        await killed
        await s.exited
        const seen = new Y.Doc()
        Y.applyUpdate(seen, Y.encodeStateAsUpdate(reader.doc))
        reader.destroy()
        writers.forEach((w) => w.destroy())

        const again = await spawn(dataDir)
        const check = yws(again.wsUrl, 'burst')
        try {
          await synced(check.provider)
          await until(() => covers(check.doc, seen), `round ${round}: restored state covers what the reader saw`, 5_000)
        } finally {
          check.destroy()
          again.child.kill('SIGKILL')
          await again.exited
        }
      } finally {
        reader.destroy()
        writers.forEach((w) => w.destroy())
      }
    }
  })
})
