import type { IncomingMessage } from 'node:http'
import type { Access, Authorizer, UpgradeDecision } from '../net/upgrade.js'
import type { HttpAuthorizer } from './http-auth.js'
import type { KeyRing } from './key-ring.js'
import type { TokenIdentity } from './revocations.js'
import { refuse, verifyJwt, type Refusal, type VerifiedToken, type VerifyOptions } from './verify.js'

/**
 * Token and Origin checks (docs/security.md; README "Access control"), as the two seams the server
 * calls before anything is opened or loaded:
 *
 * - Origin (ALLOWED_ORIGINS): a browser always sends Origin on a WebSocket handshake and on a
 *   cross-origin fetch, and a page cannot forge it. Refusing foreign Origins stops cross-site
 *   WebSocket hijacking (a hostile page making the victim's browser open a socket). A request
 *   WITHOUT Origin is not a browser page (curl, Node, a native app): those can send any header
 *   they like, so Origin is no defence against them; the token is. `Origin: null` (sandboxed
 *   iframe, file://) is a browser hiding where it comes from and is refused.
 * - Token (AUTH_SECRET, AUTH_SECRETS[_FILE] by kid, AUTH_JWKS_FILE/URL): a JWT `?token=` (or
 *   `Authorization: Bearer`), claims sub, room ("*" = every room), access ("write" | "read"),
 *   exp (required: no eternal tokens), optional jti and iat (what revocations match). Which
 *   algorithms each key may verify is pinned in verify.ts: "none", HS512, HS256 with a public
 *   key … are refused whatever the header claims (the algorithm-confusion hole).
 * - Revocation: a token on the deny-list (by jti, or by sub and iat) is refused like an expired one.
 * - Admin (POST /api/revocations): a valid token with `admin: true`, sent as a Bearer header.
 *
 * Missing/invalid/expired/revoked token → 401; token for another room, a non-admin token on an
 * admin route or a foreign Origin → 403; a JWKS URL that cannot be fetched (nothing cached) → 503.
 * Reasons are short fixed labels (metrics, logs); the token itself is never logged or echoed.
 */
export interface AuthOptions {
  /** verification keys; undefined = open server (everyone writes) */
  keys: KeyRing | undefined
  /** required iss/aud of JWKS tokens */
  verify?: VerifyOptions
  /** the deny-list (revocations.ts); absent = nothing is revoked */
  isRevoked?: (token: TokenIdentity) => boolean
  /** allowed Origins, normalised by config.ts (URL.origin); undefined = any */
  allowedOrigins: readonly string[] | undefined
  /** ms clock, for tests */
  now?: () => number
}

/** Guards an admin route: undefined when allowed, else the status and reason to answer with. */
export type AdminAuthorizer = (req: IncomingMessage) => Promise<Refusal | undefined>

const isAccess = (v: unknown): v is Access => v === 'write' || v === 'read'

/** Far above any real JWT; bounds the work a hostile query string can ask of the verifier. */
const MAX_TOKEN_LENGTH = 8 * 1024

export function createAuth(options: AuthOptions): { authorize: Authorizer; authorizeHttp: HttpAuthorizer; authorizeAdmin: AdminAuthorizer } {
  const { allowedOrigins, keys } = options
  const now = options.now ?? Date.now
  const isRevoked = options.isRevoked ?? (() => false)
  const origins = allowedOrigins && new Set(allowedOrigins)

  function checkOrigin(req: IncomingMessage): Refusal | undefined {
    if (!origins) return undefined
    const origin = req.headers.origin
    if (origin === undefined) return undefined
    let normalised: string
    try {
      normalised = new URL(origin).origin
    } catch {
      return refuse(403, 'origin-not-allowed')
    }
    // URL('null').origin throws; opaque origins (data:, file:) serialise as the string "null".
    if (normalised === 'null' || !origins.has(normalised)) return refuse(403, 'origin-not-allowed')
    return undefined
  }

  /** Signature, claims and the deny-list, for a token as the request carries it. */
  async function verified(token: string | null | undefined, ring: KeyRing): Promise<{ ok: true; value: VerifiedToken } | Refusal> {
    if (token === undefined) return refuse(401, 'token-missing')
    if (token === null || token.length > MAX_TOKEN_LENGTH) return refuse(401, 'token-invalid')
    const result = await verifyJwt(token, ring.current(), now(), options.verify)
    if (!result.ok) return result
    const { jti, sub, issuedAt } = result.value
    if (isRevoked({ jti, sub, issuedAt })) return refuse(401, 'token-revoked')
    return result
  }

  async function decide(req: IncomingMessage, url: URL, room: string): Promise<UpgradeDecision> {
    const badOrigin = checkOrigin(req)
    if (badOrigin) return badOrigin
    if (!keys) return { ok: true, room, access: 'write' }

    const result = await verified(tokenOf(req, url), keys)
    if (!result.ok) return result
    const claims = result.value
    if (typeof claims.room !== 'string' || claims.room === '') return refuse(401, 'token-claims')
    if (!isAccess(claims.access)) return refuse(401, 'token-claims')
    if (claims.room !== '*' && claims.room !== room) return refuse(403, 'wrong-room')
    return {
      ok: true,
      room,
      access: claims.access,
      subject: claims.sub,
      expiresAt: claims.expiresAt,
      tokenId: claims.jti,
      issuedAt: claims.issuedAt,
    }
  }

  return {
    authorize: (req, room) => decide(req, new URL(req.url ?? '/', 'http://localhost'), room),
    authorizeHttp: async (req, url, room, need = 'read') => {
      const d = await decide(req, url, room)
      if (!d.ok) return { ok: false, status: d.status, reason: d.reason }
      return need === 'write' && d.access !== 'write' ? { ok: false, status: 403, reason: 'read-only' } : { ok: true, principal: d.subject }
    },
    authorizeAdmin: async (req) => {
      const badOrigin = checkOrigin(req)
      if (badOrigin) return badOrigin
      if (!keys) return refuse(404, 'auth-off')
      // The header only: an admin credential in a URL ends up in access logs and shell history.
      const result = await verified(bearerOf(req), keys)
      if (!result.ok) return result
      return result.value.admin ? undefined : refuse(403, 'not-admin')
    },
  }
}

/**
 * The request's token: `Authorization: Bearer` first (non-browser clients, /api), else the one
 * `?token=`. undefined = none given; null = given but unusable (two of them, empty, bad scheme).
 */
function tokenOf(req: IncomingMessage, url: URL): string | null | undefined {
  const bearer = bearerOf(req)
  if (bearer !== undefined) return bearer
  const all = url.searchParams.getAll('token')
  if (all.length === 0) return undefined
  // Two tokens: which one a proxy, a log filter and this server would each pick is a guess.
  if (all.length > 1 || all[0] === '') return null
  return all[0]!
}

/** `Authorization: Bearer <token>`: undefined = no header; null = a header of another form. */
function bearerOf(req: IncomingMessage): string | null | undefined {
  const header = req.headers.authorization
  if (header === undefined) return undefined
  return /^Bearer +([^\s]+) *$/i.exec(header)?.[1] ?? null
}
