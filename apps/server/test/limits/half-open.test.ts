import { afterEach, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { get as httpGet } from 'node:http'
import { connect, type Socket } from 'node:net'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { SyncProvider } from '@tandem/sync/provider'
import { loadConfig } from '../../src/config.js'
import { startServer, tempDir, removeDir, type RunningServer } from '../helpers/server.js'
import { SECRET, runMainExpectingExit, spawnMain } from '../helpers/auth.js'
import { until } from '../helpers/wait.js'

/**
 * Sockets that never finish their HTTP request (slowloris; README threat model): one address
 * may hold at most MAX_HALF_OPEN_PER_IP sockets that are not (yet) WebSockets, further ones are
 * destroyed at accept; a socket without complete headers HEADERS_TIMEOUT_MS after its accept is
 * destroyed. Addresses: Linux routes all of 127.0.0.0/8 to loopback, so binding the client side
 * to 127.0.0.2 makes "another host".
 */
const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

async function server(env: Record<string, string>): Promise<RunningServer> {
  const s = await startServer(env)
  cleanup.push(() => s.close())
  return s
}

interface Raw {
  socket: Socket
  /** resolves once the socket has closed (from either side) */
  closed: Promise<void>
  isClosed(): boolean
}

/** A TCP connection from `from` that sends `data` (or nothing) and then just sits there. */
function raw(port: number, from: string, data?: string, { allowHalfOpen = false } = {}): Promise<Raw> {
  const socket = connect({ port, host: '127.0.0.1', localAddress: from, allowHalfOpen })
  cleanup.push(() => socket.destroy())
  let done = false
  socket.on('error', () => {}) // a reset from the server is what some tests expect
  socket.on('data', () => {})
  const closed = new Promise<void>((resolve) => socket.once('close', () => ((done = true), resolve())))
  return new Promise((resolve) => {
    const ready = () => resolve({ socket, closed, isClosed: () => done })
    socket.once('connect', () => {
      if (data !== undefined) socket.write(data)
      ready()
    })
    socket.once('close', ready)
  })
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms).unref())])

/** A WebSocket from `from`; resolves 'open' or 'refused' (any failure before open). */
function wsFrom(url: string, from: string): Promise<{ ws: WebSocket; result: 'open' | 'refused' }> {
  const ws = new WebSocket(url, { localAddress: from })
  cleanup.push(() => ws.terminate())
  return new Promise((resolve) => {
    ws.once('open', () => resolve({ ws, result: 'open' }))
    ws.once('error', () => resolve({ ws, result: 'refused' }))
  })
}

/** A SyncProvider whose sockets leave from `from`. */
function providerFrom(wsUrl: string, room: string, from: string): SyncProvider {
  class From extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { localAddress: from })
    }
  }
  const p = new SyncProvider({ url: wsUrl, room, doc: new Y.Doc(), WebSocket: From })
  cleanup.push(() => p.destroy())
  return p
}

/** A Prometheus sample, scraped from `from` (the attacker's own address may be refused). */
function scrape(url: string, from: string, name: string, reason: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpGet(`${url}/metrics`, { localAddress: from, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => (body += d))
      res.on('end', () => {
        const m = new RegExp(`^${name}\\{reason="${reason}"\\} (\\d+)`, 'm').exec(body)
        resolve(m ? Number(m[1]) : 0)
      })
    }).on('error', reject)
  })
}

/** This process's own descriptor limit: the attack below must fit in it. */
const ownFdLimit = (): number => Number(execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || 1024

describe('half-open sockets (MAX_HALF_OPEN_PER_IP, HEADERS_TIMEOUT_MS)', () => {
  it('one address holding thousands of half-open sockets cannot starve the server: others connect and sync within 5 s', async () => {
    // The server runs with 200 descriptors, so "all of them" is reachable in a test: without the
    // cap, the attacker's sockets that never finish a request use them all and every other
    // client is dropped (what happened before the cap: 'socket hang up' until the attacker lets go).
    const HEADERS_TIMEOUT_MS = 6_000
    const CAP = 50
    const dir = tempDir()
    cleanup.push(() => removeDir(dir))
    const srv = await spawnMain(
      { DATA_DIR: dir, LOG_LEVEL: 'warn', MAX_HALF_OPEN_PER_IP: String(CAP), HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS) },
      15_000,
      { maxOpenFiles: 200 },
    )
    cleanup.push(() => srv.stop())
    // 2,000 where this process may open that many (ulimit -n 1024 still gives 10× the cap).
    const attackers = Math.min(2_000, ownFdLimit() - 300)
    expect(attackers, 'the test process needs ulimit -n ≥ 800').toBeGreaterThanOrEqual(500)

    // Half send nothing, half a partial request (the request line and one header, never the end).
    const held: Raw[] = []
    for (let i = 0; i < attackers; i += 250) {
      const batch = Array.from({ length: Math.min(250, attackers - i) }, (_, k) =>
        raw(srv.port, '127.0.0.1', (i + k) % 2 ? 'GET /room HTTP/1.1\r\nHost: x\r\n' : undefined),
      )
      held.push(...(await Promise.all(batch)))
    }
    // Real clients from other addresses connect and sync within 5 s, attack or not.
    const started = Date.now()
    const a = providerFrom(srv.url.replace('http', 'ws'), 'doc', '127.0.0.2')
    const b = providerFrom(srv.url.replace('http', 'ws'), 'doc', '127.0.0.3')
    await until(() => a.synced && b.synced, 'clients from 127.0.0.2/.3 synced', 5_000)
    a.doc.getText('t').insert(0, 'still here')
    await until(() => b.doc.getText('t').toString() === 'still here', 'edit relayed', 5_000)
    expect(Date.now() - started).toBeLessThan(5_000)

    // Meanwhile all but CAP of the attacker's sockets were destroyed at accept, and the server
    // still holds those CAP open, waiting for their headers: the attack was on all along.
    await until(() => held.filter((r) => r.isClosed()).length === attackers - CAP, `all but ${CAP} of ${attackers} refused`, 5_000)
    const stillHeld = held.filter((r) => !r.isClosed())
    expect(stillHeld).toHaveLength(CAP)

    // The attacker's further sockets are refused at once, upgrades included.
    const extra = await raw(srv.port, '127.0.0.1')
    await within(extra.closed, 2_000, 'an extra socket from 127.0.0.1 destroyed at accept')
    expect((await wsFrom(`${srv.url.replace('http', 'ws')}/doc`, '127.0.0.1')).result).toBe('refused')
    expect(await scrape(srv.url, '127.0.0.4', 'tandem_rejected_connections_total', 'half-open-per-ip')).toBeGreaterThanOrEqual(attackers - CAP + 2)

    // HEADERS_TIMEOUT_MS after their accept, the held sockets are gone, and the address is free again.
    await within(Promise.all(stillHeld.map((r) => r.closed)), HEADERS_TIMEOUT_MS + 5_000, 'held sockets closed by the headers timeout')
    expect(await scrape(srv.url, '127.0.0.4', 'tandem_rejected_connections_total', 'headers-timeout')).toBe(CAP)
    expect((await wsFrom(`${srv.url.replace('http', 'ws')}/doc`, '127.0.0.1')).result).toBe('open')
  }, 60_000)

  it('the cap counts sockets until they are upgraded or closed, per address; over it a new socket is destroyed at once', async () => {
    const s = await server({ MAX_HALF_OPEN_PER_IP: '3', HEADERS_TIMEOUT_MS: '60000' })
    const held = await Promise.all([raw(s.port, '127.0.0.1'), raw(s.port, '127.0.0.1'), raw(s.port, '127.0.0.1', 'GET / HTTP/1.1\r\n')])
    await until(() => s.server.halfOpenCount === 3, '3 half-open sockets')
    // A fourth from the same address: destroyed at accept, before it could send anything.
    const fourth = await raw(s.port, '127.0.0.1')
    await within(fourth.closed, 2_000, 'the 4th socket from 127.0.0.1 destroyed')
    expect((await wsFrom(`${s.wsUrl}/doc`, '127.0.0.1')).result).toBe('refused')
    // Another address is not affected.
    expect((await wsFrom(`${s.wsUrl}/doc`, '127.0.0.2')).result).toBe('open')
    // A closed socket frees its place; an upgraded one stops counting (admission counts it now).
    held[0].socket.destroy()
    await until(() => s.server.halfOpenCount === 2, 'a closed socket leaves the count')
    const upgraded = await wsFrom(`${s.wsUrl}/doc`, '127.0.0.1')
    expect(upgraded.result).toBe('open')
    await until(() => s.server.halfOpenCount === 2, 'the upgraded socket does not count')
    const third = await raw(s.port, '127.0.0.1')
    await until(() => s.server.halfOpenCount === 3, 'room for a third half-open socket next to the WebSocket')
    expect(third.isClosed()).toBe(false)
    expect(upgraded.ws.readyState).toBe(WebSocket.OPEN)
    expect(await scrape(s.url, '127.0.0.2', 'tandem_rejected_connections_total', 'half-open-per-ip')).toBe(2)
    // Nothing is left behind: every socket closed → nothing counted, no timer armed.
    for (const r of [...held, third]) r.socket.destroy()
    upgraded.ws.terminate()
    await until(() => s.server.halfOpenCount === 0, 'all released')
  })

  it('HEADERS_TIMEOUT_MS: sockets that send nothing, half a request line or half an upgrade are destroyed; upgraded ones are not', async () => {
    const s = await server({ HEADERS_TIMEOUT_MS: '300', MAX_HALF_OPEN_PER_IP: '0' })
    const live = await wsFrom(`${s.wsUrl}/doc`, '127.0.0.1')
    expect(live.result).toBe('open')
    const started = Date.now()
    const slow = await Promise.all([
      raw(s.port, '127.0.0.1'),
      raw(s.port, '127.0.0.1', 'GET /do'),
      raw(s.port, '127.0.0.1', 'GET /doc HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'),
    ])
    await within(Promise.all(slow.map((r) => r.closed)), 5_000, 'slow sockets destroyed')
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    expect(await scrape(s.url, '127.0.0.1', 'tandem_rejected_connections_total', 'headers-timeout')).toBe(3)
    // The WebSocket opened before them is still open: its timer was cleared at its headers.
    expect(live.ws.readyState).toBe(WebSocket.OPEN)
    expect(s.server.halfOpenCount).toBe(0)
  })

  it('a refused upgrade is closed by the server even if the client never closes its side', async () => {
    const s = await server({ AUTH_SECRET: SECRET })
    // allowHalfOpen: this client keeps its side open after the server's FIN, like a hostile one.
    const c = await raw(s.port, '127.0.0.1', 'GET /doc HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n', { allowHalfOpen: true })
    let answer = ''
    c.socket.setEncoding('utf8').on('data', (d: string) => (answer += d))
    await until(() => answer.startsWith('HTTP/1.1 401'), 'the 401')
    expect(c.isClosed()).toBe(false)
    // The server's descriptor is released (node would otherwise keep it until the client closes).
    const connections = () => new Promise<number>((resolve, reject) => s.server.http.getConnections((err, n) => (err ? reject(err) : resolve(n))))
    await until(async () => (await connections()) === 0, 'server closed its socket')
    expect(s.server.halfOpenCount).toBe(0)
  })

  it('configuration: defaults, off behind a proxy unless set, bad values exit 2 naming the variable', async () => {
    const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: tempDir(), ...env }, { editorDir: '' })
    expect(load({})).toMatchObject({ maxHalfOpenPerIp: 50, headersTimeoutMs: 10_000 })
    // Behind a proxy every client has the proxy's TCP address: a per-address cap would cap them all.
    expect(load({ TRUST_PROXY: '1' }).maxHalfOpenPerIp).toBe(0)
    expect(load({ TRUST_PROXY: '1', MAX_HALF_OPEN_PER_IP: '5000' }).maxHalfOpenPerIp).toBe(5000)
    for (const [variable, value] of [
      ['MAX_HALF_OPEN_PER_IP', '-1'],
      ['HEADERS_TIMEOUT_MS', '0'],
      ['HEADERS_TIMEOUT_MS', 'soon'],
    ] as const) {
      const r = await runMainExpectingExit({ DATA_DIR: tempDir(), [variable]: value })
      expect(r.code, `${variable}=${value}`).toBe(2)
      expect(r.stderr).toContain(variable)
    }
  })
})
