import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, type JWTVerifyGetKey } from 'jose'
import type { Logger } from '../log.js'

/**
 * AUTH_JWKS_URL: an identity provider's public keys, through jose's remote key set:
 *
 * - bounded: each fetch is aborted after `timeoutMs` (AUTH_JWKS_TIMEOUT_MS);
 * - cached: keys are re-fetched at most every CACHE_MAX_AGE_MS, so a handshake costs no request;
 * - cooldown: a token naming an unknown `kid` (the provider rotated) triggers a re-fetch, but
 *   not more than once per COOLDOWN_MS, so a stream of forged kids cannot make us hammer the
 *   provider.
 *
 * One addition: when a re-fetch FAILS (provider down, timeout) and keys were fetched before, the
 * last keys stay in use, so an identity-provider outage does not lock every client out once the
 * cache ages. Only with no keys ever fetched is the answer "unavailable" (503, retry).
 */
const CACHE_MAX_AGE_MS = 10 * 60_000
const COOLDOWN_MS = 30_000

/** The key set could not be fetched and none is cached: not the token's fault. */
export class KeysUnavailableError extends Error {
  override readonly name = 'KeysUnavailableError'
}

/** Errors that say "this token has no key here", as opposed to "the keys could not be had". */
const isKeyMiss = (err: unknown) =>
  err instanceof joseErrors.JWKSNoMatchingKey ||
  err instanceof joseErrors.JWKSMultipleMatchingKeys ||
  err instanceof joseErrors.JOSENotSupported ||
  err instanceof joseErrors.JWKInvalid

export function createRemoteKeys(url: string, opts: { timeoutMs: number; log: Pick<Logger, 'warn'> }): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(url), {
    timeoutDuration: opts.timeoutMs,
    cooldownDuration: COOLDOWN_MS,
    cacheMaxAge: CACHE_MAX_AGE_MS,
  })
  // The last fetched set, as a local resolver built once per set (jose caches imported keys in it).
  let stale: { json: string; resolve: JWTVerifyGetKey } | undefined
  let warnedAt = -Infinity

  return async (header, token) => {
    try {
      return await remote(header, token)
    } catch (err) {
      if (isKeyMiss(err)) throw err
      const jwks = remote.jwks()
      if (Date.now() - warnedAt > COOLDOWN_MS) {
        warnedAt = Date.now()
        opts.log.warn({ err: (err as Error).message, cached: jwks !== undefined }, 'AUTH_JWKS_URL: fetching the key set failed')
      }
      if (!jwks) throw new KeysUnavailableError('no key set fetched yet')
      // jwks() hands out a copy each time: compare by content.
      const json = JSON.stringify(jwks)
      if (stale?.json !== json) stale = { json, resolve: createLocalJWKSet(jwks) }
      return stale.resolve(header, token)
    }
  }
}
