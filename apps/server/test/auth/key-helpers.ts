import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import { SignJWT, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose'

/** Helpers for the key-rotation, JWKS and revocation tests: named secrets, key pairs, a JWKS host. */

/** 32+ bytes each, like every HS256 secret the server accepts in AUTH_SECRETS. */
export const S0 = 'zero-secret-0123456789abcdef-0123456789abcdef'
export const S1 = 'one-secret-0123456789abcdef-0123456789abcdef-1'
export const S2 = 'two-secret-0123456789abcdef-0123456789abcdef-2'

const nowS = () => Math.floor(Date.now() / 1000)

export interface SignOptions {
  /** the `kid` header; absent = no kid */
  kid?: string
  alg?: string
  /** claims replacing or adding to the defaults (undefined values are left out) */
  claims?: Record<string, unknown>
}

function payloadOf(claims: Record<string, unknown> = {}): Record<string, unknown> {
  const payload: Record<string, unknown> = { sub: 'alice', room: 'doc', access: 'write', exp: nowS() + 3600, jti: randomUUID(), ...claims }
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k]
  return payload
}

/** An HMAC token signed with `secret` (bytes or text). */
export function hsToken(secret: string | Uint8Array, { kid, alg = 'HS256', claims }: SignOptions = {}): Promise<string> {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret
  return new SignJWT(payloadOf(claims)).setProtectedHeader(kid === undefined ? { alg } : { alg, kid }).sign(key)
}

export interface TestKey {
  alg: 'RS256' | 'ES256' | 'EdDSA'
  kid: string
  privateKey: CryptoKey
  /** the public JWK as a JWKS lists it (kid, alg, use) */
  jwk: JWK
}

export async function testKey(alg: TestKey['alg'], kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  return { alg, kid, privateKey, jwk }
}

/**
 * A token signed by `key` (its kid in the header unless `kid: null`). Another `alg` (RS384,
 * PS256 …) signs with the same key material, re-imported for that algorithm.
 */
export async function asymToken(key: TestKey, { kid, alg, claims }: { kid?: string | null; alg?: string; claims?: Record<string, unknown> } = {}): Promise<string> {
  const header: { alg: string; kid?: string } = { alg: alg ?? key.alg }
  if (kid !== null) header.kid = kid ?? key.kid
  const signer = header.alg === key.alg ? key.privateKey : await importJWK(await exportJWK(key.privateKey), header.alg)
  return new SignJWT(payloadOf(claims)).setProtectedHeader(header).sign(signer)
}

export const jwksOf = (...keys: TestKey[]) => ({ keys: keys.map((k) => k.jwk) })

/** A local identity provider serving a JWKS; counts fetches; can hang or fail on demand. */
export interface JwksHost {
  url: string
  fetches: number
  jwks: object
  mode: 'serve' | 'hang' | 'fail'
  close(): Promise<void>
}

export async function jwksHost(jwks: object): Promise<JwksHost> {
  const hanging = new Set<import('node:http').ServerResponse>()
  const server: Server = createServer((_req, res) => {
    host.fetches++
    if (host.mode === 'hang') {
      hanging.add(res)
      return
    }
    if (host.mode === 'fail') {
      res.statusCode = 500
      res.end('down')
      return
    }
    res.setHeader('Content-Type', 'application/json')
    res.end(JSON.stringify(host.jwks))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const host: JwksHost = {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    fetches: 0,
    jwks,
    mode: 'serve',
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of hanging) r.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  return host
}

/** POST /api/revocations; resolves with the status and the JSON answer. */
export async function revoke(
  baseUrl: string,
  adminToken: string | undefined,
  body: unknown,
  init: { method?: string; rawBody?: string } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}/api/revocations`, {
    method: init.method ?? 'POST',
    headers: { 'Content-Type': 'application/json', ...(adminToken ? { Authorization: `Bearer ${adminToken}` } : {}) },
    body: init.method === 'GET' ? undefined : (init.rawBody ?? JSON.stringify(body)),
  })
  const text = await res.text()
  try {
    return { status: res.status, json: JSON.parse(text) as Record<string, unknown> }
  } catch {
    return { status: res.status, json: { text } }
  }
}
