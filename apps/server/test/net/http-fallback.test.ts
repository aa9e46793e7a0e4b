import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { SyncProvider, type SyncProviderOptions, type TransportName } from '@tandem/sync/provider'
import { startServer } from '../helpers/server.js'
import { synced, text, yws } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { startUpgradeProxy } from '../helpers/upgrade-proxy.js'

/**
 * transport: 'auto' (packages/sync/src/provider/transport-choice.ts) behind a proxy that refuses
 * or swallows WebSocket upgrades: the provider falls back to HTTP, and moves back to WebSocket
 * once the proxy lets upgrades through, without losing or doubling an edit.
 */

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

function autoProvider(url: string, room: string, options: Partial<SyncProviderOptions> = {}) {
  const doc = new Y.Doc()
  const provider = new SyncProvider({
    url,
    room,
    doc,
    WebSocket,
    initialBackoffMs: 20,
    maxBackoffMs: 100,
    handshakeTimeoutMs: 500,
    upgradeProbeMs: 100,
    ...options,
  })
  const transports: TransportName[] = []
  provider.on('transport', (t) => transports.push(t))
  cleanup.push(() => provider.destroy())
  return { doc, provider, transports }
}

describe("transport: 'auto'", () => {
  it('falls back to HTTP when the proxy refuses upgrades, then moves to WebSocket once it allows them, losing and doubling nothing', async () => {
    const s = await startServer()
    cleanup.push(() => s.close())
    const proxy = await startUpgradeProxy(s.port)
    cleanup.push(() => proxy.close())
    const direct = yws(s.wsUrl, 'move')
    cleanup.push(direct.destroy)
    const { doc, provider, transports } = autoProvider(proxy.wsUrl, 'move')
    await Promise.all([synced(direct.provider), synced(provider, 'synced over http')])
    expect(provider.transport).toBe('http')
    expect(proxy.refusedUpgrades).toBeGreaterThanOrEqual(2)

    // Edits keep coming while the transport changes under them.
    const t = doc.getText('t')
    let n = 0
    const typing = setInterval(() => t.insert(t.length, `${n++},`), 5)
    cleanup.push(() => clearInterval(typing))
    await until(() => n >= 20, 'edits over http')
    proxy.upgrades('allow')
    await until(() => provider.transport === 'websocket', 'moved to websocket', 10_000)
    const atMove = n
    await until(() => n >= atMove + 20, 'edits over websocket')
    clearInterval(typing)

    const expected = Array.from({ length: n }, (_, i) => `${i},`).join('')
    await until(() => text(direct.doc) === expected, 'the direct client has every edit exactly once', 10_000)
    await until(() => provider.unsavedChanges === 0, 'everything acknowledged')
    expect(text(doc)).toBe(expected)
    expect(transports).toEqual(['http', 'websocket'])
  })

  it('falls back to HTTP when the upgrade is never answered (no 101 within handshakeTimeoutMs)', async () => {
    const s = await startServer()
    cleanup.push(() => s.close())
    const proxy = await startUpgradeProxy(s.port)
    cleanup.push(() => proxy.close())
    proxy.upgrades('hang')
    const direct = yws(s.wsUrl, 'hang')
    cleanup.push(direct.destroy)
    const { doc, provider } = autoProvider(proxy.wsUrl, 'hang', { handshakeTimeoutMs: 200, upgradeProbeMs: 60_000 })
    await synced(provider, 'synced over http')
    expect(provider.transport).toBe('http')
    doc.getText('t').insert(0, 'through a silent proxy')
    await until(() => text(direct.doc) === 'through a silent proxy', 'edit arrives')
  })

  it("stays on WebSocket when it works, and 'websocket' never tries HTTP", async () => {
    const s = await startServer()
    cleanup.push(() => s.close())
    const { provider } = autoProvider(s.wsUrl, 'ws')
    await synced(provider)
    expect(provider.transport).toBe('websocket')

    const proxy = await startUpgradeProxy(s.port)
    cleanup.push(() => proxy.close())
    const forced = autoProvider(proxy.wsUrl, 'ws', { transport: 'websocket' })
    await until(() => proxy.refusedUpgrades >= 4, 'several refused attempts')
    expect(forced.provider.transport).toBeUndefined()
    expect(forced.provider.synced).toBe(false)
  })
})
