// The multiplexing load client (scenario C's `tandem-mux`) against a real built Tandem server:
// it must sync every room of a socket, and fail loudly when the server refuses a room, so a
// scenario C row can never count subscriptions that did not happen.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MuxLightClient } from '../src/loadgen/mux-client.mjs'
import { startServer } from '../src/server-process.mjs'
import { TARGETS } from '../src/targets.mjs'

const target = TARGETS.find((t) => t.id === 'tandem-mux')
if (!target) throw new Error('no tandem-mux target')
const dataDir = mkdtempSync(join(tmpdir(), 'tandem-bench-mux-'))
let server: Awaited<ReturnType<typeof startServer>>

beforeAll(async () => {
  server = await startServer(target, { dataDir })
})
afterAll(async () => {
  await server?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('MuxLightClient (tandem-mux-v1 load client)', () => {
  it('syncs ten rooms over one socket', async () => {
    const rooms = Array.from({ length: 10 }, (_, i) => `mux-bench-${i}`)
    const client = new MuxLightClient(server.base, rooms)
    await client.connect(10_000)
    expect(client.synced.size).toBe(10)
    expect(client.closedWith).toBeNull()
    await client.close()
  })

  it('fails when the server refuses one of its rooms', async () => {
    const client = new MuxLightClient(server.base, ['fine-room', 'bad\u0000room'])
    await expect(client.connect(10_000)).rejects.toThrow(/closed 400/)
    await client.close()
  })
})
