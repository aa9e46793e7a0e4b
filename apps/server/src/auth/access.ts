import type { IncomingMessage } from 'node:http'
import { errors as joseErrors, jwtVerify } from 'jose'
import type { Access, Authorizer, UpgradeDecision } from '../net/upgrade.js'
import type { HttpAuthorizer } from './http-auth.js'

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
 * - Token (AUTH_SECRET): an HS256 JWT `?token=` (or `Authorization: Bearer`), claims
 *   sub, room ("*" = every room), access ("write" | "read"), exp (required: no eternal tokens).
 *   The algorithm is pinned to HS256, so "none", RS256, HS512 … are refused whatever the header
 *   claims (the classic algorithm-confusion hole).
 *
 * Missing/invalid/expired token → 401; token for another room or a foreign Origin → 403.
 * Reasons are short fixed labels (metrics, logs); the token itself is never logged or echoed.
 */
export interface AuthOptions {
  /** HS256 secret; undefined = open server (everyone writes) */
  secret: string | undefined
  /** allowed Origins, normalised by config.ts (URL.origin); undefined = any */
  allowedOrigins: readonly string[] | undefined
  /** ms clock, for tests */
  now?: () => number
}

interface TokenClaims {
  sub: string | undefined
  room: string
  access: Access
  /** exp in ms since the epoch */
  expiresAt: number
}

type Refusal = { ok: false; status: number; reason: string }

/** Far above any real JWT; bounds the work a hostile query string can ask of the verifier. */
const MAX_TOKEN_LENGTH = 8 * 1024

const refuse = (status: number, reason: string): Refusal => ({ ok: false, status, reason })

export function createAuth(options: AuthOptions): { authorize: Authorizer; authorizeHttp: HttpAuthorizer } {
  const { allowedOrigins } = options
  const now = options.now ?? Date.now
  const key = options.secret === undefined ? undefined : new TextEncoder().encode(options.secret)
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

  async function decide(req: IncomingMessage, url: URL, room: string): Promise<UpgradeDecision> {
    const badOrigin = checkOrigin(req)
    if (badOrigin) return badOrigin
    if (!key) return { ok: true, room, access: 'write' }

    const token = tokenOf(req, url)
    if (token === undefined) return refuse(401, 'token-missing')
    if (token === null || token.length > MAX_TOKEN_LENGTH) return refuse(401, 'token-invalid')
    const claims = await verifyToken(token, key, now())
    if (!claims.ok) return claims
    if (claims.value.room !== '*' && claims.value.room !== room) return refuse(403, 'wrong-room')
    return { ok: true, room, access: claims.value.access, subject: claims.value.sub, expiresAt: claims.value.expiresAt }
  }

  return {
    authorize: (req, room) => decide(req, new URL(req.url ?? '/', 'http://localhost'), room),
    authorizeHttp: async (req, url, room) => {
      const d = await decide(req, url, room)
      return d.ok ? undefined : { status: d.status, reason: d.reason }
    },
  }
}

/**
 * The request's token: `Authorization: Bearer` first (non-browser clients, /api), else the one
 * `?token=`. undefined = none given; null = given but unusable (two of them, empty, bad scheme).
 */
function tokenOf(req: IncomingMessage, url: URL): string | null | undefined {
  const header = req.headers.authorization
  if (header !== undefined) {
    const m = /^Bearer +([^\s]+) *$/i.exec(header)
    return m ? m[1]! : null
  }
  const all = url.searchParams.getAll('token')
  if (all.length === 0) return undefined
  // Two tokens: which one a proxy, a log filter and this server would each pick is a guess.
  if (all.length > 1 || all[0] === '') return null
  return all[0]!
}

/** Verifies signature (HS256 only), exp and the Tandem claims. */
async function verifyToken(
  token: string,
  key: Uint8Array,
  nowMs: number,
): Promise<{ ok: true; value: TokenClaims } | Refusal> {
  let payload: Record<string, unknown>
  try {
    ;({ payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      requiredClaims: ['exp'],
      currentDate: new Date(nowMs),
    }))
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) return refuse(401, 'token-expired')
    if (err instanceof joseErrors.JOSEAlgNotAllowed) return refuse(401, 'token-algorithm')
    if (err instanceof joseErrors.JWTClaimValidationFailed) return refuse(401, 'token-claims')
    return refuse(401, 'token-invalid')
  }
  const { sub, room, access, exp } = payload
  if (typeof room !== 'string' || room === '') return refuse(401, 'token-claims')
  if (access !== 'write' && access !== 'read') return refuse(401, 'token-claims')
  if (sub !== undefined && typeof sub !== 'string') return refuse(401, 'token-claims')
  const expiresAt = (exp as number) * 1000
  // jose compares whole seconds; the session timer closes at the exact ms. Agree with the
  // timer, so a client reconnecting with the token that just expired is refused, not readmitted.
  if (expiresAt <= nowMs) return refuse(401, 'token-expired')
  return { ok: true, value: { sub, room, access, expiresAt } }
}
