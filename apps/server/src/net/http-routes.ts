import type { IncomingMessage, ServerResponse } from 'node:http'
import { ProtocolError, validateRoomName } from '@tandem/sync'
import type { Metrics } from '../metrics.js'
import type { RoomRegistry } from '../room/registry.js'
import type { DocStore } from '../store/types.js'
import type { Fanout } from '../fanout/types.js'
import type { Logger } from '../log.js'
import type { HttpAuthorizer } from '../auth/http-auth.js'
import { createStaticHandler } from './static-files.js'
import { API_SECURITY_HEADERS, pageSecurityHeaders } from './security-headers.js'
import { createHealthMonitor } from '../health/monitor.js'
import { routeLabel, type ApiHandler } from '../api/routes.js'
import { sendJson } from '../api/http.js'
import type { RateDecision } from '../limits/address-rate.js'

export interface HttpDeps {
  metrics: Metrics
  registry: RoomRegistry
  store: DocStore
  fanout: Fanout
  log: Logger
  editorDir: string
  /** FRAME_ANCESTORS (config) */
  frameAncestors: string
  startedAt: number
  connections: () => number
  authorizeHttp: HttpAuthorizer
  /** POST /api/revocations (auth/revocation-api.ts) */
  revocations: (req: IncomingMessage, res: ServerResponse) => Promise<void>
  /** /api/rooms and /api/rooms/<room>[/content|/updates] (api/routes.ts) */
  api?: ApiHandler
  /** RATE_LIMIT_API_PER_SEC: spends one of this request's address's /api tokens (unset = off) */
  limitApi?: (req: IncomingMessage) => RateDecision
}

const STATE_PATH = /^\/api\/rooms\/([^/]+)\/state$/

export function createHttpHandler(deps: HttpDeps) {
  const serveStatic = deps.editorDir ? createStaticHandler(deps.editorDir, pageSecurityHeaders(deps.frameAncestors)) : undefined
  const health = createHealthMonitor({ store: deps.store, fanout: deps.fanout, log: deps.log })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const path = url.pathname
    countRequest(deps.metrics, req, res, path)
    // Not pages: nothing may run in or frame them (the editor's files replace these below).
    for (const [name, value] of Object.entries(API_SECURITY_HEADERS)) res.setHeader(name, value)

    if (path === '/healthz') {
      // States, codes and reasons: health/model.ts (and the README). 503 only when this server
      // cannot store writes; the fan-out alone down is 'degraded', still in rotation.
      const report = await health.check()
      return json(res, report.httpStatus, {
        status: report.status,
        rooms: deps.registry.size,
        connections: deps.connections(),
        uptime: Math.round((Date.now() - deps.startedAt) / 1000),
        store: report.store,
        fanout: report.fanout,
      })
    }

    if (path === '/metrics') {
      res.statusCode = 200
      res.setHeader('Content-Type', deps.metrics.registry.contentType)
      res.end(await deps.metrics.registry.metrics())
      return
    }

    if (deps.limitApi && (path === '/api' || path.startsWith('/api/'))) {
      // Before any token check or body read: a flood costs one bucket look-up per request.
      const rate = deps.limitApi(req)
      if (!rate.ok) return tooManyRequests(deps.metrics, req, res, rate.retryAfterSeconds)
    }
    if (path === '/api/revocations') return deps.revocations(req, res)
    if (deps.api && (await deps.api(req, res, url))) return

    const state = STATE_PATH.exec(path)
    if (state) {
      if (req.method !== 'GET') return text(res, 405, 'method not allowed')
      let room: string
      try {
        room = validateRoomName(decodeURIComponent(state[1]!))
      } catch (err) {
        return text(res, 400, err instanceof ProtocolError ? err.message : 'bad room name')
      }
      const decision = await deps.authorizeHttp(req, url, room)
      if (!decision.ok) return text(res, decision.status, decision.reason)
      const doc = await deps.registry.acquire(room)
      try {
        const update = await doc.encodeState()
        res.statusCode = 200
        res.setHeader('Content-Type', 'application/octet-stream')
        res.setHeader('Content-Length', update.length)
        res.setHeader('Cache-Control', 'no-store')
        res.end(update)
      } finally {
        deps.registry.release(doc)
      }
      return
    }

    if (serveStatic && (await serveStatic(req, res, path))) return
    text(res, 404, 'not found')
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err) => {
      deps.log.error({ err, path: req.url?.split('?')[0] }, 'http handler failed')
      if (!res.headersSent) text(res, 500, 'internal error')
      else res.destroy()
    })
  }
}

const METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH'])

/** tandem_http_requests_total, once the answer is sent; labels from fixed sets only. */
function countRequest(metrics: Metrics, req: IncomingMessage, res: ServerResponse, path: string): void {
  res.once('finish', () => {
    const method = METHODS.has(req.method ?? '') ? req.method! : 'other'
    metrics.httpRequests.labels(routeLabel(path), method, String(res.statusCode)).inc()
  })
}

function tooManyRequests(metrics: Metrics, req: IncomingMessage, res: ServerResponse, retryAfterSeconds: number): void {
  metrics.rejectedRequests.labels('too-many-requests').inc()
  // An unread body would otherwise be read (and thrown away) to keep the socket alive for more.
  const hasBody = (req.headers['content-length'] ?? '0') !== '0' || req.headers['transfer-encoding'] !== undefined
  sendJson(
    res,
    429,
    { error: 'too-many-requests', message: `too many /api requests from this address (RATE_LIMIT_API_PER_SEC); retry in ${retryAfterSeconds} s` },
    { 'Retry-After': String(retryAfterSeconds), ...(hasBody ? { Connection: 'close' } : {}) },
  )
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Cache-Control', 'no-store')
  res.end(JSON.stringify(body))
}

function text(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status
  res.setHeader('Content-Type', 'text/plain; charset=utf-8')
  res.end(body + '\n')
}
