import {
  STATUS_CODES,
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerOptions,
  type ServerResponse,
} from 'node:http'
import type { Duplex } from 'node:stream'
import type { AddressInfo, Socket } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { CloseCode, MUX_PROTOCOL, SAVED_ACK_PROTOCOL, writeAwareness } from '@tandem/sync'
import type { Config } from './config.js'
import type { DocStore } from './store/types.js'
import type { Fanout } from './fanout/types.js'
import type { Logger } from './log.js'
import { createMetrics, type Metrics } from './metrics.js'
import { createCommitter, type CommitRoom, type RoomCommit } from './update/commit.js'
import { createRoomRegistry } from './room/registry.js'
import type { Room } from './room/room.js'
import { Connection, type ConnectionDeps } from './net/connection.js'
import { decideUpgrade, type Authorizer, type UpgradeDecision } from './net/upgrade.js'
import { wsDeflateOptions } from './net/compression.js'
import { MuxConnection, type MuxChannel, type MuxDeps } from './net/mux-connection.js'
import { createMuxOpener } from './net/mux-open.js'
import type { HttpAuthorizer } from './auth/http-auth.js'
import { createAccessControl } from './auth/access-control.js'
import { clientAddress, createAdmission } from './limits/admission.js'
import { ExpiryQueue } from './limits/expiry-queue.js'
import { createHalfOpenGuard } from './limits/half-open.js'
import { createAddressRateLimiter } from './limits/address-rate.js'
import { createHttpHandler } from './net/http-routes.js'
import { createHttpTransport } from './net/http-transport.js'
import type { HttpSocket } from './net/http-socket.js'
import { createApiRoutes } from './api/routes.js'
import { startWebhookDispatcher } from './webhooks/dispatcher.js'
import { createServerHistory } from './history/server-history.js'

export interface ServerDeps {
  config: Config
  store: DocStore
  fanout: Fanout
  log: Logger
  /** the registry the backends registered their own metrics in (fan-out); a fresh one otherwise */
  metrics?: Metrics
  authorize?: Authorizer
  authorizeHttp?: HttpAuthorizer
  /** wraps node:http for TLS (https.createServer) when set; must pass `options` on */
  createServer?: (handler: Parameters<typeof createHttpServer>[1], options: ServerOptions) => HttpServer
  /** observers for the library's hooks (library/hooks.ts); each must return at once and never throw */
  events?: ServerEvents
}

/** What happened, told synchronously to an observer that defers its own work (library/hooks.ts). */
export interface ServerEvents {
  /** a room's row is stored and relayed (update/commit.ts, stage "committed") */
  committed?: (room: CommitRoom, c: RoomCommit) => void
  /** a connection joined its room */
  connected?: (conn: Connection) => void
  /** a connection closed */
  disconnected?: (conn: Connection) => void
}

/** Rooms one multiplexed socket may hold open at once (docs/protocol.md "Many rooms over one connection"). */
const MAX_MUX_CHANNELS = 64

/** A multiplexed socket: the path `/` (no room) with MUX_PROTOCOL offered. */
function isMuxRequest(req: IncomingMessage): boolean {
  const path = (req.url ?? '').split('?')[0]
  if (path !== '/') return false
  return (req.headers['sec-websocket-protocol'] ?? '').split(',').some((p) => p.trim() === MUX_PROTOCOL)
}

/** An empty awareness update: a no-op for every y-protocols client, but proof the link is alive. */
const KEEPALIVE = writeAwareness(new Uint8Array([0]))

/**
 * The sync server: node:http + ws in noServer mode. Owns every socket, timer and room;
 * close() undoes all of it.
 */
export function createTandemServer(deps: ServerDeps) {
  const { config, store, fanout, log } = deps
  const metrics: Metrics = deps.metrics ?? createMetrics()
  // Derived from config unless injected: a server given keys/ALLOWED_ORIGINS enforces them
  // whoever composes it (main.ts, tests, an embedding app). No key and no origins = open.
  const access = createAccessControl<Connection | MuxChannel>({
    config,
    log,
    registry: metrics.registry,
    // A revoked token's socket ends like an expired one's: the client fetches a fresh token.
    closeRevoked: (c) => c.close(CloseCode.TokenExpired, 'token revoked'),
    onRefusedRequest: (reason) => metrics.rejectedRequests.labels(reason).inc(),
  })
  const authorize = deps.authorize ?? access.authorize
  const authorizeHttp = deps.authorizeHttp ?? access.authorizeHttp
  const admission = createAdmission({
    connectionsPerIp: config.maxConnectionsPerIp,
    connectionsPerRoom: config.maxConnectionsPerRoom,
    rooms: config.maxRooms,
  })
  // How often one address may start a handshake / an /api request (0 per-second = off).
  const handshakeRate =
    config.rateLimitHandshakesPerSec > 0
      ? createAddressRateLimiter({ perSecond: config.rateLimitHandshakesPerSec, burst: config.rateLimitHandshakeBurst })
      : undefined
  const apiRate =
    config.rateLimitApiPerSec > 0 ? createAddressRateLimiter({ perSecond: config.rateLimitApiPerSec, burst: config.rateLimitApiBurst }) : undefined
  const rateLimit = {
    messagesPerSec: config.rateLimitMessagesPerSec,
    messageBurst: config.rateLimitMessageBurst,
    bytesPerSec: config.rateLimitBytesPerSec,
    byteBurst: config.rateLimitByteBurst,
  }
  // Token expiry mid-session: one timer for every connection, the earliest deadline armed.
  const expiry = new ExpiryQueue<Connection | MuxChannel>((c) => {
    metrics.expiredSessions.inc()
    log.info({ room: c.room.name, conn: c.id }, 'token expired; closing with 4001')
    c.close(CloseCode.TokenExpired, 'token expired')
  })
  const connections = new Set<Connection | MuxConnection>()
  let draining = false

  const committer = createCommitter(store, metrics, log, deps.events?.committed)
  // WEBHOOK_URL: the store writes the events (its outbox); this loop delivers them, apart from the update path.
  if (config.webhooks && !store.outbox) log.error('WEBHOOK_URL is set but the store was opened without webhooks: no events are written')
  const webhooks = config.webhooks && store.outbox && startWebhookDispatcher({ config: config.webhooks, outbox: store.outbox, registry: metrics.registry, log })
  // Version history, where the store keeps versions (history/history.ts).
  const history = store.versions && createServerHistory({ config, store, versions: store.versions, fanout, log, rooms: () => registry })
  const registry = createRoomRegistry({ config, store, fanout, committer, metrics, log, history })

  // Explicit cap well below ws' 100 MiB default: a hostile frame cannot balloon memory.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxPayloadBytes,
    perMessageDeflate: wsDeflateOptions(config.wsCompression),
    clientTracking: false,
    // Select ONLY our extension; ws' default would echo the client's first offer, whatever it is.
    handleProtocols: (offered, req) =>
      offered.has(MUX_PROTOCOL) && isMuxRequest(req) ? MUX_PROTOCOL : offered.has(SAVED_ACK_PROTOCOL) ? SAVED_ACK_PROTOCOL : false,
  })

  const countedAuthorizeHttp: HttpAuthorizer = async (req, url, room, need) => {
    const decision = await authorizeHttp(req, url, room, need)
    if (!decision.ok) metrics.rejectedRequests.labels(decision.reason).inc()
    return decision
  }
  const api = createApiRoutes({
    registry,
    store,
    fanout,
    log,
    authorizeHttp: countedAuthorizeHttp,
    maxPayloadBytes: config.maxPayloadBytes,
    maxUploadBytes: config.maxUploadBytes,
    maxRoomUploadBytes: config.maxRoomUploadBytes,
    maxNestingDepth: config.maxNestingDepth,
    history,
  })
  const httpHandler = createHttpHandler({
    metrics,
    registry,
    store,
    fanout,
    log,
    editorDir: config.editorDir,
    frameAncestors: config.frameAncestors,
    startedAt: Date.now(),
    connections: () => connections.size,
    revocations: access.revocationApi,
    authorizeHttp: countedAuthorizeHttp,
    api,
    limitApi: apiRate && ((req) => apiRate.take(clientAddress(req, config.trustProxy))),
  })
  // node's own request timeouts, checked every connectionsCheckingInterval (node's default,
  // 30 s, would let a socket outlive the timeout fourfold). They bound a keep-alive socket's
  // later requests; the first request's headers are the guard's (below), which fires first:
  // node's limit is one check later.
  const checkEveryMs = Math.min(30_000, Math.max(50, Math.floor(config.headersTimeoutMs / 4)))
  const httpOptions: ServerOptions & { handshakeTimeout: number } = {
    headersTimeout: config.headersTimeoutMs + checkEveryMs,
    // The whole request (headers and any body: the API's are at most MAX_PAYLOAD_BYTES, a revocation 4 KiB) must arrive by then.
    requestTimeout: 2 * config.headersTimeoutMs,
    connectionsCheckingInterval: checkEveryMs,
    // https only: a TLS handshake is part of getting to the headers.
    handshakeTimeout: config.headersTimeoutMs,
  }
  // The HTTP transport (net/http-transport.ts): the same connections over Engine.IO long-polling,
  // on its own path; every other request is the pages' and the API's.
  const httpTransport = createHttpTransport({
    log,
    maxPayloadBytes: config.maxPayloadBytes,
    pingIntervalMs: config.pingIntervalMs,
    draining: () => draining,
    takeHandshake: (req) => !handshakeRate || handshakeRate.take(clientAddress(req, config.trustProxy)).ok,
    authorize,
    admit: (req, room) => admission.admit(() => clientAddress(req, config.trustProxy), room),
    acquire: (room) => registry.acquire(room),
    release: (room) => registry.release(room),
    refused: (reason) => metrics.rejectedUpgrades.labels(reason).inc(),
    start: (socket: HttpSocket, room, decision, slot) => start(socket.asWebSocket(), socket, room, decision, slot),
  })
  const requestHandler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (httpTransport.matches(url.pathname)) httpTransport.handle(req, res, url)
    else httpHandler(req, res)
  }
  const http = deps.createServer ? deps.createServer(requestHandler, httpOptions) : createHttpServer(httpOptions, requestHandler)
  // Sockets still in the HTTP stage: capped per address, and destroyed when their headers are late.
  const halfOpen = createHalfOpenGuard({
    perAddress: config.maxHalfOpenPerIp,
    headersTimeoutMs: config.headersTimeoutMs,
    onRefused: (reason) => metrics.rejectedConnections.labels(reason).inc(),
  })
  halfOpen.attach(http)
  http.on('request', (req: IncomingMessage) => halfOpen.headersIn(req))

  // Also what an app that mounts Tandem on its own server calls (index.ts: handleUpgrade).
  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    halfOpen.headersIn(req)
    upgrade(req, socket, head).catch((err) => {
      log.error({ err }, 'upgrade failed')
      refuse(socket, 500, 'internal-error')
    })
  }
  http.on('upgrade', onUpgrade)

  function refuse(socket: Duplex, status: number, reason: string): void {
    metrics.rejectedUpgrades.labels(reason).inc()
    if (socket.destroyed) return
    const body = `${reason}\n`
    // Node hands an upgrade's socket over as it is and never times it out: ending our side
    // alone would keep the descriptor until the client closes its side, which a hostile one
    // never does. Closed once the answer is flushed (as ws does for handshakes it refuses).
    socket.once('finish', () => socket.destroy())
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    )
  }

  // Shared by every connection: one object and one closure for the whole server, not per socket.
  const connectionDeps: ConnectionDeps = {
    metrics,
    log,
    maxBufferedBytes: config.maxBufferedBytes,
    rateLimit: rateLimit.messagesPerSec > 0 || rateLimit.bytesPerSec > 0 ? rateLimit : undefined,
    compressionThreshold: config.wsCompressionThreshold,
    onClose: (c) => {
      expiry.delete(c)
      access.closed(c)
      c.admission?.release()
      connections.delete(c)
      metrics.connections.dec()
      registry.release(c.room)
      deps.events?.disconnected?.(c)
    },
  }

  // Many rooms over one socket (net/mux-connection.ts): each room is authorized, admitted and
  // loaded when the client opens it, as an upgrade to it would be (net/mux-open.ts).
  const muxDeps: MuxDeps = {
    metrics,
    log,
    maxBufferedBytes: config.maxBufferedBytes,
    rateLimit: connectionDeps.rateLimit,
    compressionThreshold: config.wsCompressionThreshold,
    maxChannels: MAX_MUX_CHANNELS,
    open: createMuxOpener({ authorize, admit: (address, room) => admission.admit(address, room), registry, log, draining: () => draining }),
    opened: (ch, decision) => {
      if (decision.expiresAt !== undefined) expiry.add(ch, decision.expiresAt)
      access.admitted(ch, decision)
    },
    channelClosed: (ch) => {
      expiry.delete(ch)
      access.closed(ch)
    },
    onClose: (c) => {
      connections.delete(c)
      metrics.connections.dec()
    },
  }

  /** The upgrade of a multiplexed socket: nothing to authorize yet (each room is, when opened). */
  function upgradeMux(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const onError = () => socket.destroy()
    socket.on('error', onError)
    wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('error', onError)
      halfOpen.upgraded(socket)
      const conn = new MuxConnection(ws, socket as Socket, muxDeps, { origin: req.headers.origin, address: clientAddress(req, config.trustProxy) })
      connections.add(conn)
      metrics.connections.inc()
    })
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // Until the WebSocket exists, this upgrade owns what it reserved (an admission slot, then the
    // room) and gives it back if the socket goes away first: ws refuses malformed handshakes
    // itself without calling back. Both listeners are removed once the connection owns them, so
    // nothing of the upgrade stays reachable from a long-lived socket.
    let slot: { release(): void } | undefined
    let room: Room | undefined
    const onError = () => socket.destroy()
    const onEarlyClose = () => {
      // Releases what is held now; whatever is acquired after the socket died is released by
      // giveUp() (every await below is followed by a socket.destroyed check).
      slot?.release()
      slot = undefined
      if (room) registry.release(room)
      room = undefined
    }
    socket.on('error', onError)
    socket.once('close', onEarlyClose)
    const giveUp = (status: number, reason: string) => {
      socket.off('close', onEarlyClose)
      onEarlyClose()
      refuse(socket, status, reason)
    }
    if (draining) return giveUp(503, 'shutting-down')
    // Before authentication: verifying a token (or fetching a JWKS) is the work a flood is after.
    if (handshakeRate && !handshakeRate.take(clientAddress(req, config.trustProxy)).ok) return giveUp(429, 'too-many-handshakes')
    if (isMuxRequest(req)) {
      socket.off('close', onEarlyClose)
      socket.off('error', onError)
      return upgradeMux(req, socket, head)
    }
    const decision = await decideUpgrade(req, authorize)
    if (!decision.ok) return giveUp(decision.status, decision.reason)
    // Limits after authentication (a stranger learns nothing but 401/403) and before the room
    // loads: a refused upgrade costs one HTTP response.
    const admitted = admission.admit(() => clientAddress(req, config.trustProxy), decision.room)
    if (!admitted.ok) return giveUp(admitted.status, admitted.reason)
    slot = admitted
    if (socket.destroyed) return giveUp(499, 'client-gone')
    try {
      room = await registry.acquire(decision.room)
    } catch (err) {
      log.error({ err, room: decision.room }, 'room failed to load')
      return giveUp(503, 'room-unavailable')
    }
    if (draining || socket.destroyed) return giveUp(503, draining ? 'shutting-down' : 'client-gone')
    const joined: Room = room
    wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('close', onEarlyClose)
      socket.off('error', onError) // ws has its own error handling on an upgraded socket
      halfOpen.upgraded(socket) // from now on a connection, counted by admission
      start(ws, socket as Socket, joined, decision, admitted)
    })
  }

  /** An admitted socket (a WebSocket, or an HTTP session dressed as one) becomes a connection in its room. */
  function start(
    ws: WebSocket,
    bytes: { readonly bytesRead: number },
    joined: Room,
    decision: Extract<UpgradeDecision, { ok: true }>,
    admitted: { release(): void },
  ): void {
    const conn = new Connection(ws, bytes, joined, decision.access, decision.subject, connectionDeps)
    conn.admission = admitted
    connections.add(conn)
    metrics.connections.inc()
    if (decision.expiresAt !== undefined) expiry.add(conn, decision.expiresAt)
    access.admitted(conn, decision)
    conn.acks?.hello()
    joined.join(conn)
    deps.events?.connected?.(conn)
  }

  // One sweep for all sockets (not a timer per connection). Every half ping interval:
  // quiet connections get an app-level keepalive, so clients that detect dead links by
  // silence (y-websocket: 30 s) keep a healthy idle link; every other sweep pings, and a
  // peer that did not answer the previous ping is terminated.
  let sweeps = 0
  const sweep = setInterval(() => {
    const pingNow = sweeps++ % 2 === 1
    for (const c of connections) {
      if (c.closingSweeps >= 0) {
        // Closed by us but the peer never completed the close (e.g. a consumer that stopped reading):
        // drop it instead of holding its buffered bytes for ws' 30 s close timeout.
        if (c.closingSweeps++ >= 1) c.terminate()
        continue
      }
      if (pingNow) {
        if (!c.alive) {
          log.info({ room: c instanceof Connection ? c.room.name : undefined, conn: c.id }, 'terminating connection that missed a pong')
          c.terminate()
          continue
        }
        c.ping()
      }
      if (!c.sentSinceSweep) c.keepalive(KEEPALIVE)
      c.sentSinceSweep = false
    }
  }, Math.max(50, Math.floor(config.pingIntervalMs / 2)))
  sweep.unref()

  return {
    http,
    /** for an app's own server: its 'upgrade' and 'request' events (index.ts) */
    handleUpgrade: onUpgrade,
    handleRequest: requestHandler,
    metrics,
    registry,
    committer,
    get connectionCount() {
      return connections.size
    },
    /** sockets not (yet) upgraded: accepted, waiting for or answering an HTTP request */
    get halfOpenCount() {
      return halfOpen.size
    },
    /** SIGHUP: new handshakes use the re-read key files; open connections are untouched. */
    reloadKeys: () => access.reloadKeys(),
    /** resolves once the shared deny-list was read from Redis (at once without Redis) */
    revocationsLoaded: () => access.revocationsLoaded(),
    listen(): Promise<AddressInfo> {
      return new Promise((resolve, reject) => {
        http.once('error', reject)
        http.listen(config.port, config.host, () => {
          http.off('error', reject)
          resolve(http.address() as AddressInfo)
        })
      })
    },
    /**
     * Graceful shutdown: refuse new upgrades (503), close sockets with 1001, flush pending
     * writes, snapshot and unload rooms. The store and fan-out belong to the caller.
     */
    async close(): Promise<void> {
      if (draining) return
      draining = true
      clearInterval(sweep)
      expiry.close()
      await history?.close()
      const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()))
      for (const c of connections) c.close(CloseCode.GoingAway, 'server shutting down')
      await committer.flushed()
      await registry.closeAll()
      // Sockets that never answer the close frame must not hold the process open.
      for (const c of connections) c.terminate()
      http.closeAllConnections?.()
      // Also sockets node does not list: mid-TLS-handshake, or in our upgrade handler.
      halfOpen.close()
      await httpClosed
      wss.close()
      httpTransport.close()
      await access.close()
      await api.close()
      // After the last commits: their events are in the outbox, delivered by whoever runs next.
      if (webhooks) await webhooks.close()
    },
  }
}

export type TandemServer = ReturnType<typeof createTandemServer>
