import type { IncomingMessage } from 'node:http'
import { WILDCARD_ROOM } from '@tandem/sync'
import type { Logger } from '../log.js'
import type { Access, Authorizer, UpgradeDecision } from '../net/upgrade.js'
import type { HttpAuthorizer } from '../auth/http-auth.js'
import { createAuth } from '../auth/access.js'

/** Who the app says a request comes from: the same access model a token gives (auth/access.ts). */
export interface Identity {
  /** the user's id: who wrote a change (onChange), whose presence a connection may reclaim (a token's `sub`) */
  user: string
  /** 'write' edits; 'read' only receives (an update is refused, as for a read token) */
  access: Access
  /** the rooms it is good for, as a token's `room` claim: the room asked for (default), or '*' for every room */
  room?: string
  /** ms since the epoch: an open WebSocket is closed with 4001 then (as at a token's `exp`); none = the session's life */
  expiresAt?: number
}

/** A refusal with a status of the app's choosing (401 by default) and a short reason (`[a-z0-9-]`). */
export interface Refusal {
  refuse: 401 | 403 | 404 | 429 | 503
  reason?: string
}

export interface AuthenticateContext {
  /** the room asked for: the WebSocket's, or the /api route's ('*' for GET /api/rooms) */
  room: string
  /** 'websocket' (the upgrade) or 'http' (an /api request) */
  via: 'websocket' | 'http'
  /** for an /api request: 'write' for a write route; the answer's `access` must then be 'write' */
  need: Access
}

/**
 * The app's own sessions instead of JWTs: called before the WebSocket exists (a refusal is a plain
 * HTTP status) and before any /api route reads a body or a room. false/null/undefined = 401.
 */
export type Authenticate = (
  request: IncomingMessage,
  context: AuthenticateContext,
) => Identity | Refusal | false | null | undefined | Promise<Identity | Refusal | false | null | undefined>

const REASON = /^[a-z0-9-]{1,40}$/
const MAX_USER_LENGTH = 1024

/**
 * The hook as the server's two seams (net/upgrade.ts Authorizer, auth/http-auth.ts HttpAuthorizer):
 * ALLOWED_ORIGINS first (auth/access.ts, as with tokens), then the hook, bounded by `timeoutMs`
 * (503 `auth-hook-timeout`); a throw or an answer of the wrong shape is 500 `auth-hook-failed`,
 * logged. The hook decides before anything is opened, loaded or stored.
 */
export function hookAuthorizers(
  authenticate: Authenticate,
  opts: { allowedOrigins: readonly string[] | undefined; timeoutMs: number; log: Logger },
): { authorize: Authorizer; authorizeHttp: HttpAuthorizer } {
  const origins = createAuth({ keys: undefined, allowedOrigins: opts.allowedOrigins })

  async function decide(req: IncomingMessage, room: string, via: AuthenticateContext['via'], need: Access): Promise<UpgradeDecision> {
    const origin = await origins.authorize(req, room)
    if (!origin.ok) return origin
    let answer: Awaited<ReturnType<Authenticate>>
    try {
      answer = await withTimeout(Promise.resolve().then(() => authenticate(req, { room, via, need })), opts.timeoutMs)
    } catch (err) {
      if (err instanceof HookTimeout) {
        opts.log.warn({ room, timeoutMs: opts.timeoutMs }, 'authenticate hook timed out; refused with 503')
        return { ok: false, status: 503, reason: 'auth-hook-timeout' }
      }
      opts.log.error({ err, room }, 'authenticate hook threw; refused with 500')
      return { ok: false, status: 500, reason: 'auth-hook-failed' }
    }
    if (!answer) return { ok: false, status: 401, reason: 'unauthenticated' }
    if ('refuse' in answer) {
      const status = [401, 403, 404, 429, 503].includes(answer.refuse) ? answer.refuse : 401
      return { ok: false, status, reason: typeof answer.reason === 'string' && REASON.test(answer.reason) ? answer.reason : 'refused' }
    }
    const { user, access, room: scope, expiresAt } = answer as Partial<Identity>
    const valid =
      typeof user === 'string' &&
      user.length <= MAX_USER_LENGTH &&
      (access === 'read' || access === 'write') &&
      (scope === undefined || typeof scope === 'string') &&
      (expiresAt === undefined || Number.isFinite(expiresAt))
    if (!valid) {
      opts.log.error({ room }, 'authenticate hook answered neither { user, access } nor a refusal; refused with 500')
      return { ok: false, status: 500, reason: 'auth-hook-failed' }
    }
    if (scope !== undefined && scope !== WILDCARD_ROOM && scope !== room) return { ok: false, status: 403, reason: 'wrong-room' }
    if (expiresAt !== undefined && expiresAt <= Date.now()) return { ok: false, status: 401, reason: 'session-expired' }
    return { ok: true, room, access, subject: user, expiresAt }
  }

  return {
    authorize: (req, room) => decide(req, room, 'websocket', 'read'),
    authorizeHttp: async (req, _url, room, need = 'read') => {
      const d = await decide(req, room, 'http', need)
      if (!d.ok) return { ok: false, status: d.status, reason: d.reason }
      return need === 'write' && d.access !== 'write' ? { ok: false, status: 403, reason: 'read-only' } : { ok: true, principal: d.subject }
    },
  }
}

class HookTimeout extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HookTimeout(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer))
}
