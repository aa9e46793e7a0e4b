import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose'
import type { Logger } from '../log.js'
import { KeySourceError, readKeyMaterial, type KeyMaterial, type KeySources } from './keys.js'
import { createRemoteKeys } from './jwks-remote.js'

/**
 * The keys new handshakes are verified with, swapped whole on reload (SIGHUP). Connections
 * already admitted keep going: their token was checked once, at the upgrade, and they end at
 * `exp` or on revocation, never because a key moved.
 */
export interface VerificationKeys {
  /**
   * The HS256 key for a token's `kid`: without kid, AUTH_SECRET; with a kid, the AUTH_SECRETS
   * entry of that name. With no named secrets at all, AUTH_SECRET verifies every HS256 token
   * whatever its kid (the behaviour before kids existed). undefined = no key: refused.
   */
  hmac: (kid: unknown) => Uint8Array | undefined
  /** whether HS256 is accepted at all */
  readonly hasHmac: boolean
  /** public keys (AUTH_JWKS_FILE or AUTH_JWKS_URL); undefined = asymmetric tokens refused */
  readonly jwks: JWTVerifyGetKey | undefined
}

export interface KeyRing {
  current: () => VerificationKeys
  /** Re-reads the key files. On any error the previous keys stay, and the error is returned. */
  reload: () => { ok: true; summary: KeySummary } | { ok: false; variable: string; error: string }
}

/** What a log line may say about the keys: names and counts, never a secret. */
export interface KeySummary {
  secret: boolean
  kids: string[]
  /** keys in AUTH_JWKS_FILE, 'url' for AUTH_JWKS_URL, 0 = no JWKS */
  jwksKeys: number | 'url'
}

const encoder = new TextEncoder()

function compile(material: KeyMaterial, remote: JWTVerifyGetKey | undefined): VerificationKeys {
  const fallback = material.secret === undefined ? undefined : encoder.encode(material.secret)
  const named = new Map(material.secrets.map((s) => [s.kid, encoder.encode(s.secret)]))
  return {
    hmac(kid) {
      if (kid === undefined || named.size === 0) return fallback
      return typeof kid === 'string' ? named.get(kid) : undefined
    },
    hasHmac: fallback !== undefined || named.size > 0,
    jwks: material.jwks ? createLocalJWKSet(material.jwks) : remote,
  }
}

export function summarise(material: KeyMaterial, remote: boolean): KeySummary {
  return {
    secret: material.secret !== undefined,
    kids: material.secrets.map((s) => s.kid),
    jwksKeys: material.jwks ? material.jwks.keys.length : remote ? 'url' : 0,
  }
}

export function createKeyRing(opts: {
  sources: KeySources
  initial: KeyMaterial
  jwksUrl: string | undefined
  jwksTimeoutMs: number
  log: Pick<Logger, 'warn'>
}): KeyRing {
  // The remote set is jose's own cache (refreshed on its schedule and on unknown kids): built once.
  const remote = opts.jwksUrl === undefined ? undefined : createRemoteKeys(opts.jwksUrl, { timeoutMs: opts.jwksTimeoutMs, log: opts.log })
  let keys = compile(opts.initial, remote)
  return {
    current: () => keys,
    reload() {
      let material: KeyMaterial
      try {
        material = readKeyMaterial(opts.sources)
      } catch (err) {
        if (err instanceof KeySourceError) return { ok: false, variable: err.variable, error: err.message }
        return { ok: false, variable: 'keys', error: String(err) }
      }
      keys = compile(material, remote)
      return { ok: true, summary: summarise(material, remote !== undefined) }
    },
  }
}
