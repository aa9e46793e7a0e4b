import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { CloseCode } from '@tandem/sync'
import { SyncProvider, type StatusEvent } from '@tandem/sync/provider'
import { startServer, type RunningServer } from '../helpers/server.js'
import { closeOf, upgradeStatus } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { SECRET, recordingSocket, token, withToken } from '../helpers/auth.js'

/**
 * Token expiry during a long session: the server closes that connection with 4001
 * (CloseCode.TokenExpired, transient) when its token's exp passes; SyncProvider's token
 * function is called again and the client reconnects with a fresh token at once.
 */
const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

async function server(): Promise<RunningServer> {
  const s = await startServer({ AUTH_SECRET: SECRET })
  cleanup.push(() => s.close())
  return s
}

async function expiredSessions(s: RunningServer): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text()
  return Number(/^tandem_expired_sessions_total (\d+)/m.exec(text)?.[1] ?? NaN)
}

/** exp a little ahead, with sub-second precision (NumericDate may be fractional, RFC 7519 §2). */
const expIn = (ms: number) => (Date.now() + ms) / 1000

describe('token expiry mid-session', () => {
  it('closes with 4001 when exp passes; SyncProvider fetches a fresh token and carries on', async () => {
    const s = await server()
    const watcher = new SyncProvider({ url: s.wsUrl, room: 'doc', doc: new Y.Doc(), WebSocket, token: () => token() })
    cleanup.push(() => watcher.destroy())

    const issued: number[] = []
    const tokenFn = async () => {
      // First token: short-lived. Every later one: an hour.
      const exp = issued.length === 0 ? expIn(1500) : Math.floor(Date.now() / 1000) + 3600
      issued.push(exp)
      return token({ exp })
    }
    const doc = new Y.Doc()
    const p = new SyncProvider({ url: s.wsUrl, room: 'doc', doc, WebSocket, token: tokenFn })
    cleanup.push(() => p.destroy())
    const events: StatusEvent[] = []
    p.on('status', (e) => events.push(e))
    await until(() => p.synced && watcher.synced, 'both synced')
    doc.getText('t').insert(0, 'before ')
    await until(() => watcher.doc.getText('t').toString() === 'before ', 'edit before expiry')

    const closed = await until(() => events.find((e) => e.status === 'disconnected'), 'the server closing the expired session', 10_000)
    expect(closed.closeCode).toBe(CloseCode.TokenExpired)
    expect(closed.permanent).toBeUndefined()
    // Closed because exp passed, not earlier.
    expect(Date.now()).toBeGreaterThanOrEqual(issued[0]! * 1000)
    // 4001 = retry at once, with a fresh token from the function.
    expect(closed.retryInMs).toBe(0)
    await until(() => p.synced && issued.length === 2, 'reconnected with a fresh token')
    expect(await expiredSessions(s)).toBe(1)

    doc.getText('t').insert(7, 'after')
    await until(() => watcher.doc.getText('t').toString() === 'before after', 'edit after the reconnect')
    // The long-lived session stays open: exactly one expiry so far.
    expect(events.filter((e) => e.closeCode === CloseCode.TokenExpired)).toHaveLength(1)
    expect(watcher.status).toBe('connected')
  })

  it('closes only the expiring connection, each at its own exp; the expired token cannot reconnect', async () => {
    const s = await server()
    const soonExp = expIn(600)
    const laterExp = expIn(1500)
    const soonToken = await token({ exp: soonExp })
    const soon = await recordingSocket(withToken(s.wsUrl, 'doc', soonToken))
    const later = await recordingSocket(withToken(s.wsUrl, 'doc', await token({ exp: laterExp })))
    const lasting = await recordingSocket(withToken(s.wsUrl, 'doc', await token()))
    cleanup.push(() => soon.ws.terminate(), () => later.ws.terminate(), () => lasting.ws.terminate())
    const [soonClose, laterClose] = [closeOf(soon.ws), closeOf(later.ws)]

    const first = await soonClose
    expect(first).toEqual({ code: 4001, reason: 'token expired' })
    expect(Date.now()).toBeGreaterThanOrEqual(soonExp * 1000)
    expect(later.ws.readyState).toBe(WebSocket.OPEN)
    // The same token again: expired now, so refused at the upgrade.
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc', soonToken))).toBe(401)

    expect((await laterClose).code).toBe(4001)
    expect(Date.now()).toBeGreaterThanOrEqual(laterExp * 1000)
    expect(lasting.ws.readyState).toBe(WebSocket.OPEN)
    expect(await expiredSessions(s)).toBe(2)
  })

  it('a connection that closes before its exp is forgotten (its expiry never fires)', async () => {
    const s = await server()
    const exp = expIn(400)
    const early = await recordingSocket(withToken(s.wsUrl, 'doc', await token({ exp })))
    early.ws.close()
    await until(() => s.server.connectionCount === 0, 'closed')
    // A second session expiring after the first one's exp: when it has expired, the first one's
    // deadline has passed too, and only one expiry may have been counted.
    const second = await recordingSocket(withToken(s.wsUrl, 'doc', await token({ exp: expIn(700) })))
    cleanup.push(() => second.ws.terminate())
    expect((await closeOf(second.ws)).code).toBe(4001)
    expect(Date.now()).toBeGreaterThan(exp * 1000)
    expect(await expiredSessions(s)).toBe(1)
  })
})
