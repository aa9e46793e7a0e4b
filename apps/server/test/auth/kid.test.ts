import { afterEach, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { startServer, type RunningServer } from '../helpers/server.js'
import { metric } from '../helpers/metrics.js'
import { upgradeStatus } from '../helpers/clients.js'
import { get, withToken } from '../helpers/auth.js'
import { S0, S1, S2, hsToken } from './key-helpers.js'

/**
 * Several HS256 secrets at once (AUTH_SECRETS, `kid:secret` pairs), chosen by the token's `kid`
 * header, so a new secret can sign while tokens of the old one are still valid. AUTH_SECRET keeps
 * verifying tokens without kid. An unknown kid, or a kid-less token when only named secrets are
 * configured, is refused with 401 `token-unknown-key`.
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

const status = (s: RunningServer, t: string) => upgradeStatus(withToken(s.wsUrl, 'doc', t))

describe('AUTH_SECRETS: the kid header picks the secret', () => {
  it('each kid verifies with its own secret; AUTH_SECRET still verifies tokens without kid', async () => {
    const s = await server({ AUTH_SECRET: S0, AUTH_SECRETS: `k1:${S1}, k2:${S2}` })
    expect(await status(s, await hsToken(S1, { kid: 'k1' }))).toBe(101)
    expect(await status(s, await hsToken(S2, { kid: 'k2' }))).toBe(101)
    // The old AUTH_SECRET: tokens minted before kids existed keep working.
    expect(await status(s, await hsToken(S0))).toBe(101)
    // The kid decides; no other secret is tried.
    expect(await status(s, await hsToken(S2, { kid: 'k1' }))).toBe(401)
    expect(await status(s, await hsToken(S0, { kid: 'k1' }))).toBe(401)
    expect(await status(s, await hsToken(S1))).toBe(401)
    expect(await metric(s, 'tandem_rejected_upgrades_total', 'token-invalid')).toBe(3)
    expect(s.server.connectionCount).toBe(0)
  })

  it('an unknown kid → 401 token-unknown-key, also on /api', async () => {
    const s = await server({ AUTH_SECRET: S0, AUTH_SECRETS: `k1:${S1}` })
    const unknown = await hsToken(S1, { kid: 'k9' })
    expect(await status(s, unknown)).toBe(401)
    expect(await metric(s, 'tandem_rejected_upgrades_total', 'token-unknown-key')).toBe(1)
    expect((await get(`${s.url}/api/rooms/doc/state`, { Authorization: `Bearer ${unknown}` })).status).toBe(401)
    expect((await get(`${s.url}/api/rooms/doc/state`, { Authorization: `Bearer ${await hsToken(S1, { kid: 'k1' })}` })).status).toBe(200)
    expect(s.server.registry.size).toBe(0)
  })

  it('with AUTH_SECRETS alone, a token without kid has no key: 401 token-unknown-key', async () => {
    const s = await server({ AUTH_SECRETS: `k1:${S1},k2:${S2}` })
    expect(await status(s, await hsToken(S1))).toBe(401)
    expect(await status(s, await hsToken(S2))).toBe(401)
    expect(await metric(s, 'tandem_rejected_upgrades_total', 'token-unknown-key')).toBe(2)
    expect(await status(s, await hsToken(S2, { kid: 'k2' }))).toBe(101)
  })

  it('with AUTH_SECRET alone, a kid is ignored as it always was (the one secret verifies every HS256 token)', async () => {
    const s = await server({ AUTH_SECRET: S0 })
    expect(await status(s, await hsToken(S0, { kid: 'whatever' }))).toBe(101)
    expect(await status(s, await hsToken(S1, { kid: 'whatever' }))).toBe(401)
  })

  it('the algorithm stays pinned: HS384/HS512 with a kid and the right secret are refused', async () => {
    const s = await server({ AUTH_SECRETS: `k1:${S1}` })
    expect(await status(s, await hsToken(S1, { kid: 'k1', alg: 'HS512' }))).toBe(401)
    expect(await status(s, await hsToken(S1, { kid: 'k1', alg: 'HS384' }))).toBe(401)
    expect(await metric(s, 'tandem_rejected_upgrades_total', 'token-algorithm')).toBe(2)
  })
})

const CLI = fileURLToPath(new URL('../../src/cli/token.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../../../..', import.meta.url))

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

describe('pnpm token --kid', () => {
  it('signs with the named AUTH_SECRETS entry and puts the kid in the header; the server accepts it', async () => {
    const s = await server({ AUTH_SECRETS: `k1:${S1},k2:${S2}` })
    const r = await cli(['--room', 'doc', '--access', 'write', '--kid', 'k2'], { AUTH_SECRETS: `k1:${S1},k2:${S2}` })
    expect(r.code).toBe(0)
    const t = r.stdout.trim()
    expect(decodeProtectedHeader(t)).toMatchObject({ alg: 'HS256', kid: 'k2' })
    // Every minted token has a jti, so it can be revoked alone.
    expect(decodeJwt(t).jti).toMatch(/^[0-9a-f-]{36}$/)
    expect(await status(s, t)).toBe(101)
  })

  it('an unknown kid exits 2 naming the variable and the kids it has, never a secret', async () => {
    const r = await cli(['--room', 'doc', '--access', 'write', '--kid', 'k9'], { AUTH_SECRETS: `k1:${S1},k2:${S2}` })
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/AUTH_SECRETS: has no kid "k9" \(it has k1, k2\)/)
    expect(r.stderr).not.toContain(S1)
    expect(r.stderr).not.toContain(S2)
    const none = await cli(['--room', 'doc', '--access', 'write', '--kid', 'k1'], { AUTH_SECRET: S0 })
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/AUTH_SECRETS/)
  })

  it('--admin mints an admin token (no room needed)', async () => {
    const r = await cli(['--admin', '--ttl', '5m'], { AUTH_SECRET: S0 })
    expect(r.code).toBe(0)
    const claims = decodeJwt(r.stdout.trim())
    expect(claims).toMatchObject({ admin: true, sub: 'cli' })
    expect(claims.room).toBeUndefined()
    expect(claims.exp! - claims.iat!).toBe(300)
  })
})
