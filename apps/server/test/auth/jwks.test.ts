import { afterEach, describe, expect, it } from 'vitest'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { exportSPKI, importJWK, type CryptoKey } from 'jose'
import { startServer, tempDir, removeDir, type RunningServer } from '../helpers/server.js'
import { metric } from '../helpers/metrics.js'
import { upgradeStatus } from '../helpers/clients.js'
import { get, noneToken, withToken } from '../helpers/auth.js'
import { S1, asymToken, hsToken, jwksHost, jwksOf, testKey, type TestKey } from './key-helpers.js'

/**
 * Tokens an identity provider signs with its own private keys (RS256, ES256, EdDSA), verified
 * against its public keys: a JWKS file (AUTH_JWKS_FILE) or URL (AUTH_JWKS_URL, fetched, cached,
 * bounded by AUTH_JWKS_TIMEOUT_MS). The accepted algorithms are pinned per key store: HS256 only
 * with the shared secrets, RS256/ES256/EdDSA only with the JWKS; "none" never.
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

function jwksFile(jwks: object): string {
  const dir = tempDir()
  cleanup.push(() => removeDir(dir))
  const file = join(dir, 'jwks.json')
  writeFileSync(file, JSON.stringify(jwks))
  return file
}

const status = (s: RunningServer, t: string) => upgradeStatus(withToken(s.wsUrl, 'doc', t))
const refusals = (s: RunningServer, reason: string) => metric(s, 'tandem_rejected_upgrades_total', reason)

describe('AUTH_JWKS_FILE', () => {
  it('accepts RS256, ES256 and EdDSA tokens signed by keys in the file, chosen by kid', async () => {
    const [rsa, ec, ed] = await Promise.all([testKey('RS256', 'rsa-1'), testKey('ES256', 'ec-1'), testKey('EdDSA', 'ed-1')])
    const s = await server({ AUTH_JWKS_FILE: jwksFile(jwksOf(rsa, ec, ed)) })
    expect(await status(s, await asymToken(rsa))).toBe(101)
    expect(await status(s, await asymToken(ec))).toBe(101)
    expect(await status(s, await asymToken(ed))).toBe(101)
    // The same claims rules as HS256 tokens: room, access, exp.
    expect(await status(s, await asymToken(ed, { claims: { room: 'other' } }))).toBe(403)
    expect(await status(s, await asymToken(rsa, { claims: { exp: Math.floor(Date.now() / 1000) - 5 } }))).toBe(401)
    expect((await get(`${s.url}/api/rooms/doc/state`, { Authorization: `Bearer ${await asymToken(ec)}` })).status).toBe(200)
  })

  it('refuses a key it does not list: a stranger key with a listed kid, an unknown kid, no kid among several keys', async () => {
    const [rsa, ed] = await Promise.all([testKey('RS256', 'rsa-1'), testKey('EdDSA', 'ed-1')])
    const stranger = await testKey('RS256', 'rsa-1')
    const rsa2 = await testKey('RS256', 'rsa-2')
    const s = await server({ AUTH_JWKS_FILE: jwksFile(jwksOf(rsa, ed, rsa2)) })
    expect(await status(s, await asymToken(stranger))).toBe(401)
    expect(await refusals(s, 'token-invalid')).toBe(1)
    expect(await status(s, await asymToken(rsa, { kid: 'rsa-9' }))).toBe(401)
    // Two RSA keys and no kid: which one is meant is a guess, so neither.
    expect(await status(s, await asymToken(rsa, { kid: null }))).toBe(401)
    expect(await refusals(s, 'token-unknown-key')).toBe(2)
    // One EdDSA key: a token without kid can only mean that one.
    expect(await status(s, await asymToken(ed, { kid: null }))).toBe(101)
  })

  it('algorithm confusion is refused: HS256 keyed with the public key, alg none, other RSA algorithms, a kid of another key type', async () => {
    const rsa = await testKey('RS256', 'rsa-1')
    const ec = await testKey('ES256', 'ec-1')
    // Also with shared secrets configured: HS256 is accepted, but only with those secrets.
    const s = await server({ AUTH_JWKS_FILE: jwksFile(jwksOf(rsa, ec)), AUTH_SECRETS: `k1:${S1}` })
    const pem = await exportSPKI((await importJWK(rsa.jwk, 'RS256', { extractable: true })) as CryptoKey)
    // The classic hole: a verifier that takes the RSA public key (public to everyone) as an HMAC secret.
    expect(await status(s, await hsToken(pem, { kid: 'rsa-1' }))).toBe(401)
    expect(await status(s, await hsToken(pem))).toBe(401)
    expect(await status(s, await hsToken(JSON.stringify(rsa.jwk), { kid: 'rsa-1' }))).toBe(401)
    expect(await status(s, await hsToken(Buffer.from(rsa.jwk.n!, 'base64url'), { kid: 'rsa-1' }))).toBe(401)
    // HS256 kids name shared secrets only, and without kid there is no AUTH_SECRET to fall back on.
    expect(await refusals(s, 'token-unknown-key')).toBe(4)
    expect(await status(s, noneToken())).toBe(401)
    // RS384/PS256 with the listed RSA key: correctly signed, but not an accepted algorithm.
    expect(await status(s, await asymToken(rsa, { alg: 'RS384' }))).toBe(401)
    expect(await status(s, await asymToken(rsa, { alg: 'PS256' }))).toBe(401)
    expect(await refusals(s, 'token-algorithm')).toBe(3)
    // An RS256 header naming the EC key's kid: no RSA key by that name.
    expect(await status(s, await asymToken(rsa, { kid: 'ec-1' }))).toBe(401)
    expect(s.server.connectionCount).toBe(0)
    expect(await status(s, await hsToken(S1, { kid: 'k1' }))).toBe(101)
    expect(await status(s, await asymToken(rsa))).toBe(101)
  })

  it('without a JWKS, RS256 tokens are refused as before (token-algorithm)', async () => {
    const rsa = await testKey('RS256', 'rsa-1')
    const s = await server({ AUTH_SECRETS: `k1:${S1}` })
    expect(await status(s, await asymToken(rsa))).toBe(401)
    expect(await refusals(s, 'token-algorithm')).toBe(1)
  })

  it('AUTH_JWKS_ISSUER / AUTH_JWKS_AUDIENCE are required of JWKS tokens only', async () => {
    const ed = await testKey('EdDSA', 'ed-1')
    const s = await server({
      AUTH_JWKS_FILE: jwksFile(jwksOf(ed)),
      AUTH_JWKS_ISSUER: 'https://idp.example',
      AUTH_JWKS_AUDIENCE: 'tandem',
      AUTH_SECRETS: `k1:${S1}`,
    })
    expect(await status(s, await asymToken(ed))).toBe(401)
    expect(await status(s, await asymToken(ed, { claims: { iss: 'https://idp.example', aud: 'other-app' } }))).toBe(401)
    expect(await status(s, await asymToken(ed, { claims: { iss: 'https://evil.example', aud: 'tandem' } }))).toBe(401)
    expect(await refusals(s, 'token-claims')).toBe(3)
    expect(await status(s, await asymToken(ed, { claims: { iss: 'https://idp.example', aud: ['tandem', 'x'] } }))).toBe(101)
    expect(await status(s, await hsToken(S1, { kid: 'k1' }))).toBe(101)
  })
})

describe('AUTH_JWKS_URL', () => {
  async function idp(...keys: TestKey[]) {
    const host = await jwksHost(jwksOf(...keys))
    cleanup.push(() => host.close())
    return host
  }

  it('verifies against the fetched set, fetching it once for many handshakes', async () => {
    const [rsa, ed] = await Promise.all([testKey('RS256', 'rsa-1'), testKey('EdDSA', 'ed-1')])
    const host = await idp(rsa, ed)
    const s = await server({ AUTH_JWKS_URL: host.url })
    expect(host.fetches).toBe(0) // fetched on first use, not at startup
    for (let i = 0; i < 3; i++) {
      expect(await status(s, await asymToken(rsa))).toBe(101)
      expect(await status(s, await asymToken(ed))).toBe(101)
    }
    expect(host.fetches).toBe(1)
    // Unknown kids right after a fetch do not make the server hammer the provider (cooldown).
    const stranger = await testKey('RS256', 'rsa-new')
    for (let i = 0; i < 5; i++) expect(await status(s, await asymToken(stranger))).toBe(401)
    expect(host.fetches).toBe(1)
    expect(await refusals(s, 'token-unknown-key')).toBe(5)
    // The provider going down does not lock anyone out: the cached keys stay in use.
    host.mode = 'fail'
    expect(await status(s, await asymToken(rsa))).toBe(101)
  })

  it('nothing fetched yet and the provider down or hanging: 503 keys-unavailable within AUTH_JWKS_TIMEOUT_MS, then recovers', async () => {
    const ed = await testKey('EdDSA', 'ed-1')
    const host = await idp(ed)
    host.mode = 'hang'
    const s = await server({ AUTH_JWKS_URL: host.url, AUTH_JWKS_TIMEOUT_MS: '300' })
    const started = Date.now()
    expect(await status(s, await asymToken(ed))).toBe(503)
    expect(Date.now() - started).toBeLessThan(3_000)
    host.mode = 'fail'
    expect(await status(s, await asymToken(ed))).toBe(503)
    expect(await refusals(s, 'keys-unavailable')).toBe(2)
    host.mode = 'serve'
    expect(await status(s, await asymToken(ed))).toBe(101)
  })

  it('HS256 is refused when only a JWKS is configured (no shared secret exists to check it with)', async () => {
    const ed = await testKey('EdDSA', 'ed-1')
    const host = await idp(ed)
    const s = await server({ AUTH_JWKS_URL: host.url })
    expect(await status(s, await hsToken(JSON.stringify(ed.jwk), { kid: 'ed-1' }))).toBe(401)
    expect(await refusals(s, 'token-algorithm')).toBe(1)
    expect(host.fetches).toBe(0)
  })
})
