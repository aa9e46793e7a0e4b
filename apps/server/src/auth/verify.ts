import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose'
import type { VerificationKeys } from './key-ring.js'
import { KeysUnavailableError } from './jwks-remote.js'

/**
 * Signature, algorithm and standard claims of one JWT. The token's `alg` header picks the key
 * store, and each store is only ever used with its own algorithms:
 *
 * - HS256 → the shared secrets (AUTH_SECRET / AUTH_SECRETS by `kid`), algorithms ['HS256'];
 * - RS256, ES256, EdDSA → the JWKS, algorithms exactly those three (jose also refuses a JWKS
 *   key whose type does not fit the algorithm, and never hands out a symmetric or private one).
 *
 * So "none", HS512, HS256 signed with a public key (the classic confusion: the verifier taking
 * the RSA public key as an HMAC secret) and RS256 with no JWKS configured are all refused.
 */
const ASYMMETRIC_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const

export interface VerifiedToken {
  sub: string | undefined
  /** Tandem's claims: checked by the caller, because an admin token needs neither */
  room: unknown
  access: unknown
  admin: boolean
  jti: string | undefined
  /** iat in ms since the epoch; undefined when the token has none */
  issuedAt: number | undefined
  /** exp in ms since the epoch */
  expiresAt: number
}

export type Refusal = { ok: false; status: number; reason: string }

export const refuse = (status: number, reason: string): Refusal => ({ ok: false, status, reason })

export interface VerifyOptions {
  /** required `iss` / `aud` of tokens verified with the JWKS (AUTH_JWKS_ISSUER / _AUDIENCE) */
  jwksIssuer?: string
  jwksAudience?: string
}

export async function verifyJwt(
  token: string,
  keys: VerificationKeys,
  nowMs: number,
  opts: VerifyOptions = {},
): Promise<{ ok: true; value: VerifiedToken } | Refusal> {
  let header
  try {
    header = decodeProtectedHeader(token)
  } catch {
    return refuse(401, 'token-invalid')
  }
  const common = { requiredClaims: ['exp'], currentDate: new Date(nowMs) }
  let payload: JWTPayload
  try {
    if (header.alg === 'HS256' && keys.hasHmac) {
      const key = keys.hmac(header.kid)
      if (!key) return refuse(401, 'token-unknown-key')
      ;({ payload } = await jwtVerify(token, key, { ...common, algorithms: ['HS256'] }))
    } else if (keys.jwks && (ASYMMETRIC_ALGORITHMS as readonly unknown[]).includes(header.alg)) {
      ;({ payload } = await jwtVerify(token, keys.jwks, {
        ...common,
        algorithms: [...ASYMMETRIC_ALGORITHMS],
        issuer: opts.jwksIssuer,
        audience: opts.jwksAudience,
      }))
    } else {
      return refuse(401, 'token-algorithm')
    }
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) return refuse(401, 'token-expired')
    if (err instanceof joseErrors.JOSEAlgNotAllowed) return refuse(401, 'token-algorithm')
    if (err instanceof joseErrors.JWTClaimValidationFailed) return refuse(401, 'token-claims')
    if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) {
      return refuse(401, 'token-unknown-key')
    }
    if (err instanceof KeysUnavailableError) return refuse(503, 'keys-unavailable')
    return refuse(401, 'token-invalid')
  }
  const { sub, jti, iat, exp, admin } = payload
  if (sub !== undefined && typeof sub !== 'string') return refuse(401, 'token-claims')
  if (jti !== undefined && (typeof jti !== 'string' || jti === '')) return refuse(401, 'token-claims')
  if (admin !== undefined && typeof admin !== 'boolean') return refuse(401, 'token-claims')
  const expiresAt = (exp as number) * 1000
  // jose compares whole seconds; the session timer closes at the exact ms. Agree with the
  // timer, so a client reconnecting with the token that just expired is refused, not readmitted.
  if (expiresAt <= nowMs) return refuse(401, 'token-expired')
  return {
    ok: true,
    value: {
      sub,
      room: payload.room,
      access: payload.access,
      admin: admin === true,
      jti,
      issuedAt: typeof iat === 'number' ? iat * 1000 : undefined,
      expiresAt,
    },
  }
}
