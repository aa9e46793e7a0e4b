import { afterEach, describe, expect, it } from 'vitest'
import { request as httpRequest } from 'node:http'
import { performance } from 'node:perf_hooks'
import { loadConfig, ConfigError } from '../../src/config.js'
import { startServer, type RunningServer } from '../helpers/server.js'
import { metric } from '../helpers/metrics.js'
import { upgradeStatus } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { SECRET, token, withToken } from '../helpers/auth.js'

/**
 * How often one client address may start a WebSocket handshake (RATE_LIMIT_HANDSHAKES_PER_SEC,
 * RATE_LIMIT_HANDSHAKE_BURST) or an /api request (RATE_LIMIT_API_PER_SEC, RATE_LIMIT_API_BURST):
 * a token bucket per address, keyed like MAX_CONNECTIONS_PER_IP. Loopback has many addresses:
 * binding the client to 127.0.0.2 makes "another host".
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

/**
 * `n` attempts one after the other; also how long they took, so the test can bound what the
 * bucket may have refilled meanwhile instead of assuming the machine is fast.
 */
async function sequential<T>(n: number, attempt: () => Promise<T>): Promise<{ results: T[]; seconds: number }> {
  const start = performance.now()
  const results: T[] = []
  for (let i = 0; i < n; i++) results.push(await attempt())
  return { results, seconds: (performance.now() - start) / 1000 }
}

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function httpFrom(url: string, from: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { localAddress: from, agent: false, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('handshake rate per address (RATE_LIMIT_HANDSHAKES_PER_SEC)', () => {
  it('a handshake flood from one address gets 429 after the burst; another address still connects', async () => {
    const s = await server({ RATE_LIMIT_HANDSHAKES_PER_SEC: '1', RATE_LIMIT_HANDSHAKE_BURST: '5' })
    const { results, seconds } = await sequential(30, () => upgradeStatus(`${s.wsUrl}/doc`, { localAddress: '127.0.0.1' }))
    const opened = results.filter((r) => r === 101).length
    const refused = results.filter((r) => r === 429).length
    expect(opened + refused).toBe(30)
    expect(opened).toBeGreaterThanOrEqual(5)
    // The burst, plus at most what 1/s refilled while the flood ran.
    expect(opened).toBeLessThanOrEqual(5 + Math.floor(seconds) + 1)
    expect(results.slice(0, 5)).toEqual([101, 101, 101, 101, 101])
    expect(await upgradeStatus(`${s.wsUrl}/doc`, { localAddress: '127.0.0.2' })).toBe(101)
    expect(await metric(s, 'tandem_rejected_upgrades_total', 'too-many-handshakes')).toBe(refused)
  })

  it('is checked before authentication and before the room loads', async () => {
    const s = await server({ AUTH_SECRET: SECRET, RATE_LIMIT_HANDSHAKES_PER_SEC: '1', RATE_LIMIT_HANDSHAKE_BURST: '3' })
    // Without a token: 401 while the burst lasts, then 429: the token is not even looked at.
    const { results } = await sequential(10, () => upgradeStatus(`${s.wsUrl}/doc`))
    expect(results.slice(0, 3)).toEqual([401, 401, 401])
    expect(results.slice(-3)).toEqual([429, 429, 429])
    expect(await metric(s, 'tandem_rejected_upgrades_total', 'token-missing')).toBeLessThanOrEqual(4)
    // A valid token is refused too, and its room is never loaded.
    const valid = await token({ room: 'kept-out', access: 'write' })
    expect(await upgradeStatus(withToken(s.wsUrl, 'kept-out', valid))).toBe(429)
    expect(s.server.registry.size).toBe(0)
    expect(await upgradeStatus(withToken(s.wsUrl, 'kept-out', valid), { localAddress: '127.0.0.2' })).toBe(101)
  })

  it('the bucket refills: refused now, admitted again once a token has accrued', async () => {
    const s = await server({ RATE_LIMIT_HANDSHAKES_PER_SEC: '5', RATE_LIMIT_HANDSHAKE_BURST: '2' })
    const { results } = await sequential(20, () => upgradeStatus(`${s.wsUrl}/doc`))
    expect(results).toContain(429)
    // Awaits the refill (a refused attempt spends nothing); fails if the bucket never refills.
    await until(async () => (await upgradeStatus(`${s.wsUrl}/doc`)) === 101, 'a handshake admitted after the refill', 5_000)
  })

  it('TRUST_PROXY=1 keys on the address the proxy appended', async () => {
    const s = await server({ TRUST_PROXY: '1', RATE_LIMIT_HANDSHAKES_PER_SEC: '1', RATE_LIMIT_HANDSHAKE_BURST: '2' })
    const from = (client: string) => upgradeStatus(`${s.wsUrl}/doc`, { headers: { 'X-Forwarded-For': `6.6.6.6, ${client}` } })
    const { results } = await sequential(6, () => from('203.0.113.7'))
    expect(results.slice(-3)).toEqual([429, 429, 429])
    expect(await from('203.0.113.8')).toBe(101)
  })

  it('0 turns it off', async () => {
    const s = await server({ RATE_LIMIT_HANDSHAKES_PER_SEC: '0', RATE_LIMIT_HANDSHAKE_BURST: '1' })
    const { results } = await sequential(10, () => upgradeStatus(`${s.wsUrl}/doc`))
    expect(results.every((r) => r === 101)).toBe(true)
  })
})

describe('/api request rate per address (RATE_LIMIT_API_PER_SEC)', () => {
  it('an /api flood gets 429 JSON with Retry-After after the burst; another address and other paths are unaffected', async () => {
    const s = await server({ RATE_LIMIT_API_PER_SEC: '1', RATE_LIMIT_API_BURST: '4' })
    const { results, seconds } = await sequential(25, () => httpFrom(`${s.url}/api/rooms`, '127.0.0.1'))
    const ok = results.filter((r) => r.status === 200).length
    const refused = results.filter((r) => r.status === 429)
    expect(ok + refused.length).toBe(25)
    expect(ok).toBeGreaterThanOrEqual(4)
    expect(ok).toBeLessThanOrEqual(4 + Math.floor(seconds) + 1)
    const answer = refused[0]!
    expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(answer.headers['content-type']).toMatch(/^application\/json/)
    const body = JSON.parse(answer.body) as { error: string; message: string }
    expect(body.error).toBe('too-many-requests')
    expect(body.message).toContain('RATE_LIMIT_API_PER_SEC')
    // Every /api route shares the bucket; pages, /healthz and /metrics do not count.
    expect((await httpFrom(`${s.url}/api/rooms/doc/state`, '127.0.0.1')).status).toBe(429)
    expect((await httpFrom(`${s.url}/healthz`, '127.0.0.1')).status).toBe(200)
    expect((await httpFrom(`${s.url}/api/rooms`, '127.0.0.2')).status).toBe(200)
    expect(await metric(s, 'tandem_rejected_requests_total', 'too-many-requests')).toBe(refused.length + 1)
  })

  it('the bucket refills: refused now, answered again once a token has accrued', async () => {
    const s = await server({ RATE_LIMIT_API_PER_SEC: '5', RATE_LIMIT_API_BURST: '2' })
    const { results } = await sequential(20, () => httpFrom(`${s.url}/api/rooms`, '127.0.0.1'))
    expect(results.map((r) => r.status)).toContain(429)
    await until(async () => (await httpFrom(`${s.url}/api/rooms`, '127.0.0.1')).status === 200, 'an /api request answered after the refill', 5_000)
  })

  it('is checked before the token: a flood without one gets 429, not 401', async () => {
    const s = await server({ AUTH_SECRET: SECRET, RATE_LIMIT_API_PER_SEC: '1', RATE_LIMIT_API_BURST: '2' })
    const { results } = await sequential(8, () => httpFrom(`${s.url}/api/rooms`, '127.0.0.1'))
    expect(results.slice(0, 2).map((r) => r.status)).toEqual([401, 401])
    expect(results.slice(-3).map((r) => r.status)).toEqual([429, 429, 429])
  })
})

describe('configuration', () => {
  const load = (env: Record<string, string>) => () => loadConfig({ STORE: 'memory', ...env }, { editorDir: '' })
  const failsOn = (env: Record<string, string>, variable: string) => {
    let err: unknown
    try {
      load(env)()
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).variable).toBe(variable)
    expect((err as ConfigError).message).toMatch(new RegExp(`^${variable}: `))
  }

  it('defaults: 20 handshakes/s (burst 50), 50 /api requests/s (burst 100)', () => {
    const c = load({})()
    expect([c.rateLimitHandshakesPerSec, c.rateLimitHandshakeBurst, c.rateLimitApiPerSec, c.rateLimitApiBurst]).toEqual([20, 50, 50, 100])
    expect(load({ RATE_LIMIT_HANDSHAKES_PER_SEC: '0', RATE_LIMIT_API_PER_SEC: '0' })().rateLimitApiPerSec).toBe(0)
  })

  it('a bad value stops startup naming the variable', () => {
    failsOn({ RATE_LIMIT_HANDSHAKES_PER_SEC: 'fast' }, 'RATE_LIMIT_HANDSHAKES_PER_SEC')
    failsOn({ RATE_LIMIT_HANDSHAKES_PER_SEC: '-1' }, 'RATE_LIMIT_HANDSHAKES_PER_SEC')
    failsOn({ RATE_LIMIT_HANDSHAKE_BURST: '0' }, 'RATE_LIMIT_HANDSHAKE_BURST')
    failsOn({ RATE_LIMIT_API_PER_SEC: '2.5' }, 'RATE_LIMIT_API_PER_SEC')
    failsOn({ RATE_LIMIT_API_BURST: '0' }, 'RATE_LIMIT_API_BURST')
    failsOn({ RATE_LIMIT_API_BURST: '99999999999' }, 'RATE_LIMIT_API_BURST')
  })
})
