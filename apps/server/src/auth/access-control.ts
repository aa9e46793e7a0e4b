import type { IncomingMessage, ServerResponse } from 'node:http'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Config } from '../config.js'
import type { Logger } from '../log.js'
import type { Authorizer, UpgradeDecision } from '../net/upgrade.js'
import type { HttpAuthorizer } from './http-auth.js'
import { createAuth } from './access.js'
import { createKeyRing, summarise, type KeyRing } from './key-ring.js'
import { DenyList, type Revocation } from './revocations.js'
import { createRedisRevocations, type SharedRevocations } from './revocations-redis.js'
import { createRevocationApi, type RevokeOutcome } from './revocation-api.js'
import { LiveSessions } from './sessions.js'

/**
 * Everything the server needs from access control, composed from config: the upgrade and /api
 * checks (access.ts), the keys and their reload (key-ring.ts), the deny-list (revocations.ts,
 * shared through Redis when REDIS_URL is set) with the live connections it may close
 * (sessions.ts), and the revocation endpoint (revocation-api.ts).
 *
 * `C` is the server's connection; `closeRevoked` closes one (server.ts: 4001).
 */
export interface AccessControl<C> {
  authorize: Authorizer
  authorizeHttp: HttpAuthorizer
  /** POST /api/revocations */
  revocationApi: (req: IncomingMessage, res: ServerResponse) => Promise<void>
  /** a connection admitted with `decision`: findable by revocations until `closed` */
  admitted: (conn: C, decision: Extract<UpgradeDecision, { ok: true }>) => void
  closed: (conn: C) => void
  /** SIGHUP: re-reads AUTH_SECRETS_FILE and AUTH_JWKS_FILE; keeps the old keys on error. */
  reloadKeys: () => boolean
  /** Resolves once the shared deny-list was read from Redis (immediately without Redis). */
  revocationsLoaded: () => Promise<void>
  close: () => Promise<void>
}

/** Expired deny-list entries are swept this often (also whenever the list is full). */
const PRUNE_EVERY_MS = 60_000

export function createAccessControl<C>(opts: {
  config: Config
  log: Logger
  registry: Registry
  closeRevoked: (conn: C) => void
  onRefusedRequest: (reason: string) => void
}): AccessControl<C> {
  const { config, log } = opts
  const auth = config.auth
  const keyRing: KeyRing | undefined =
    auth && createKeyRing({ sources: auth.sources, initial: auth.initial, jwksUrl: auth.jwksUrl, jwksTimeoutMs: auth.jwksTimeoutMs, log })
  const denyList = new DenyList(auth?.maxRevocations ?? 0)
  const sessions = new LiveSessions<C>()

  const revokedSessions = new Counter({
    name: 'tandem_revoked_sessions_total',
    help: 'Connections closed (4001) because their token was revoked',
    registers: [opts.registry],
  })
  new Gauge({
    name: 'tandem_revocations',
    help: 'Deny-list entries held by this server (MAX_REVOCATIONS bounds them)',
    registers: [opts.registry],
    collect() {
      this.set(denyList.size)
    },
  })
  const reloads = new Counter({
    name: 'tandem_key_reloads_total',
    help: 'Key reloads on SIGHUP, by result (ok, failed: the previous keys stayed)',
    labelNames: ['result'],
    registers: [opts.registry],
  })

  /** Enforces `r` here: the deny-list for new handshakes, and a 4001 for every matching socket. */
  function apply(r: Revocation, origin: 'api' | 'redis'): { added: boolean; closed: number } {
    const added = denyList.add(r)
    if (added === 'full') {
      log.error({ kind: r.kind, origin }, 'revocations: deny-list full (MAX_REVOCATIONS); this entry is not enforced on new handshakes here')
    }
    const victims = sessions.matching(r)
    for (const c of victims) {
      sessions.delete(c)
      opts.closeRevoked(c)
    }
    if (victims.length > 0) {
      revokedSessions.inc(victims.length)
      log.info({ kind: r.kind, closed: victims.length, origin }, 'revocations: closed connections whose token was revoked (4001)')
    }
    return { added: added !== 'full', closed: victims.length }
  }

  const shared: SharedRevocations | undefined =
    auth && config.redisUrl
      ? createRedisRevocations({
          url: config.redisUrl,
          prefix: config.redisPrefix,
          log,
          onRevocations: (list) => {
            for (const r of list) apply(r, 'redis')
          },
        })
      : undefined

  async function revoke(r: Revocation): Promise<RevokeOutcome> {
    if (!shared) {
      const { added, closed } = apply(r, 'api')
      return added ? { result: 'ok', closed } : { result: 'full' }
    }
    // Our own Redis message may close them first: count them now, for the answer.
    const matching = sessions.matching(r).length
    let stored: 'ok' | 'full'
    try {
      stored = await shared.publish(r, auth!.maxRevocations)
    } catch (err) {
      // Enforced here at least; the caller is told it did not reach the other servers.
      log.error({ err: (err as Error).message }, 'revocations: Redis unreachable; revocation applied on this server only')
      const { added, closed } = apply(r, 'api')
      return added ? { result: 'not-shared', closed } : { result: 'full' }
    }
    if (stored === 'full') return { result: 'full' }
    // Applied now, not only when the Redis message comes back: enforced before we answer.
    return { result: 'ok', closed: Math.max(matching, apply(r, 'api').closed) }
  }

  const checks = createAuth({
    keys: keyRing,
    verify: { jwksIssuer: auth?.jwksIssuer, jwksAudience: auth?.jwksAudience },
    isRevoked: (t) => denyList.isRevoked(t),
    allowedOrigins: config.allowedOrigins,
  })
  const revocationApi = createRevocationApi({
    authorizeAdmin: checks.authorizeAdmin,
    revoke,
    ttlSeconds: auth?.revocationTtlSeconds ?? 0,
    onRefused: opts.onRefusedRequest,
  })

  const prune = setInterval(() => denyList.prune(), PRUNE_EVERY_MS)
  prune.unref()
  if (auth) log.info({ keys: summarise(auth.initial, auth.jwksUrl !== undefined), revocations: shared ? 'redis' : 'memory' }, 'auth: keys loaded')

  return {
    authorize: checks.authorize,
    authorizeHttp: checks.authorizeHttp,
    revocationApi,
    admitted(conn, d) {
      sessions.add(conn, { jti: d.tokenId, sub: d.subject, issuedAt: d.issuedAt })
    },
    closed: (conn) => sessions.delete(conn),
    reloadKeys() {
      if (!keyRing) {
        log.info('SIGHUP: no keys configured (open server); nothing to reload')
        return true
      }
      const r = keyRing.reload()
      reloads.labels(r.ok ? 'ok' : 'failed').inc()
      if (r.ok) log.info({ keys: r.summary }, 'auth keys reloaded')
      else log.error({ variable: r.variable, err: r.error }, 'auth keys NOT reloaded; the previous keys stay in use')
      return r.ok
    },
    revocationsLoaded: () => shared?.loaded() ?? Promise.resolve(),
    async close() {
      clearInterval(prune)
      await shared?.close()
    },
  }
}
