import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AdminAuthorizer } from './access.js'
import { MAX_REVOCATION_NAME, type Revocation } from './revocations.js'

/**
 * POST /api/revocations (admin token as `Authorization: Bearer`), a JSON body of either
 *
 *   { "jti": "<token id>", "exp"?: <seconds> }                  one token
 *   { "sub": "<user id>", "before"?: <seconds>, "exp"?: <seconds> }  every token of that user issued (iat) before `before` (default: now)
 *
 * `exp` (a JWT NumericDate) is when the entry may be forgotten: the latest `exp` of any token it
 * must deny. Default: now + REVOCATION_TTL_SECONDS. Answers 200 `{ revoked, closed }` (closed =
 * sockets of this server closed with 4001; other servers close theirs on the Redis message),
 * 400 bad body, 401/403 not an admin, 404 open server, 413 body too large, 507 list full,
 * 503 stored on this server only (Redis unreachable: retry).
 */
export type RevokeOutcome = { result: 'ok'; closed: number } | { result: 'full' } | { result: 'not-shared'; closed: number }

export interface RevocationApiDeps {
  authorizeAdmin: AdminAuthorizer
  revoke: (r: Revocation) => Promise<RevokeOutcome>
  ttlSeconds: number
  /** counts refusals (tandem_rejected_requests_total{reason}) */
  onRefused: (reason: string) => void
  now?: () => number
}

/** Far above any valid body; read no further. */
const MAX_BODY_BYTES = 4096
const FIELDS = new Set(['jti', 'sub', 'before', 'exp'])

export function createRevocationApi(deps: RevocationApiDeps) {
  const now = deps.now ?? Date.now

  function answer(res: ServerResponse, status: number, body: object): void {
    res.statusCode = status
    res.setHeader('Content-Type', 'application/json; charset=utf-8')
    res.setHeader('Cache-Control', 'no-store')
    res.end(JSON.stringify(body))
  }
  const fail = (res: ServerResponse, status: number, reason: string, message?: string) => {
    deps.onRefused(reason)
    answer(res, status, { error: reason, ...(message ? { message } : {}) })
  }

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST')
      return fail(res, 405, 'method-not-allowed')
    }
    const denied = await deps.authorizeAdmin(req)
    if (denied) return fail(res, denied.status, denied.reason)
    const body = await readBody(req)
    if (body === undefined) {
      res.setHeader('Connection', 'close')
      return fail(res, 413, 'body-too-large')
    }
    const parsed = parseRequest(body, now(), deps.ttlSeconds)
    if (typeof parsed === 'string') return fail(res, 400, 'bad-revocation', parsed)
    const outcome = await deps.revoke(parsed)
    if (outcome.result === 'full') return fail(res, 507, 'revocation-list-full', 'MAX_REVOCATIONS entries are held; retry once some have expired')
    const revoked = toJson(parsed)
    if (outcome.result === 'not-shared') {
      deps.onRefused('revocation-not-shared')
      return answer(res, 503, {
        error: 'revocation-not-shared',
        message: 'applied on this server only: Redis could not be reached; retry',
        revoked,
        closed: outcome.closed,
      })
    }
    answer(res, 200, { revoked, closed: outcome.closed })
  }
}

/** The body as text; undefined when it is larger than MAX_BODY_BYTES. */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  const declared = Number(req.headers['content-length'])
  if (declared > MAX_BODY_BYTES) return Promise.resolve(undefined)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data')
        req.pause()
        resolve(undefined)
        return
      }
      chunks.push(chunk)
    })
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.once('error', reject)
  })
}

const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_REVOCATION_NAME
const isSeconds = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0

/** The body as a Revocation (times in ms), or what is wrong with it. */
function parseRequest(body: string, nowMs: number, ttlSeconds: number): Revocation | string {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return 'the body is not JSON'
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'expected a JSON object'
  const o = json as Record<string, unknown>
  const unknown = Object.keys(o).find((k) => !FIELDS.has(k))
  if (unknown !== undefined) return `unknown field ${JSON.stringify(unknown)} (expected jti, or sub with before; exp)`
  if ((o.jti === undefined) === (o.sub === undefined)) return 'give exactly one of jti and sub'
  if (o.exp !== undefined && !isSeconds(o.exp)) return 'exp must be a NumericDate (seconds since the epoch)'
  const exp = o.exp === undefined ? nowMs + ttlSeconds * 1000 : o.exp * 1000
  if (exp <= nowMs) return 'exp has passed: every token this could deny has expired'
  if (o.jti !== undefined) {
    if (!isName(o.jti)) return `jti must be a string of 1-${MAX_REVOCATION_NAME} characters`
    if (o.before !== undefined) return 'before applies to sub'
    return { kind: 'jti', jti: o.jti, exp }
  }
  if (!isName(o.sub)) return `sub must be a string of 1-${MAX_REVOCATION_NAME} characters`
  if (o.before !== undefined && !isSeconds(o.before)) return 'before must be a NumericDate (seconds since the epoch)'
  return { kind: 'sub', sub: o.sub, before: o.before === undefined ? nowMs : o.before * 1000, exp }
}

/** The entry as the API speaks it: seconds, like the claims it matches. */
function toJson(r: Revocation): Record<string, unknown> {
  const exp = r.exp / 1000
  return r.kind === 'jti' ? { jti: r.jti, exp } : { sub: r.sub, before: r.before / 1000, exp }
}
