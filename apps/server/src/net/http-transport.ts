import type { IncomingMessage, ServerResponse } from 'node:http'
import { Server as EngineServer, type Socket as EioSocket } from 'engine.io'
import { HTTP_PROTOCOL_PARAM, HTTP_TRANSPORT_PATH, ProtocolError, SAVED_ACK_PROTOCOL, validateRoomName } from '@tandem/sync'
import type { Room } from '../room/room.js'
import type { Logger } from '../log.js'
import type { Authorizer, UpgradeDecision } from './upgrade.js'
import { HttpSocket } from './http-socket.js'

type Admitted = Extract<UpgradeDecision, { ok: true }>

export interface HttpTransportDeps {
  log: Logger
  maxPayloadBytes: number
  /** PING_INTERVAL_MS: the sweep's ping period (server.ts) */
  pingIntervalMs: number
  draining(): boolean
  /** RATE_LIMIT_HANDSHAKES_*: spends one of the address's handshake tokens; false = refused (429) */
  takeHandshake(req: IncomingMessage): boolean
  authorize: Authorizer
  /** the admission slot for this address and room (limits/admission.ts) */
  admit(req: IncomingMessage, room: string): { ok: true; release(): void } | { ok: false; status: number; reason: string }
  acquire(room: string): Promise<Room>
  release(room: Room): void
  /** counts a refused handshake, as a refused WebSocket upgrade is counted */
  refused(reason: string): void
  /** Makes the Connection, exactly as for an upgraded WebSocket (server.ts). */
  start(socket: HttpSocket, room: Room, decision: Admitted, slot: { release(): void }): void
}

/** What a handshake reserved before Engine.IO made the session, keyed by its request. */
interface Reserved {
  room: Room
  decision: Admitted
  slot: { release(): void }
  protocol: string
}

/**
 * The HTTP transport: Engine.IO long-polling (engine.io's Server without `attach`, so it never
 * sees an `upgrade` event: the plain WebSocket endpoint, and every stock y-websocket client on it,
 * is untouched). Polling only: a client that can use WebSockets uses ours (the provider probes
 * for it and moves back, packages/sync/src/provider/transport-choice.ts).
 *
 * A handshake (the request without `sid`) is checked before Engine.IO sees it, by the same
 * functions and in the same order as a WebSocket upgrade (server.ts `upgrade`): draining (503),
 * handshake rate (429), token and Origin (401/403), admission (429/503), the room loaded (503).
 * A refusal is that plain HTTP status. Engine.IO then answers the handshake and emits the session,
 * which becomes a `Connection` over an HttpSocket (http-socket.ts).
 */
export function createHttpTransport(deps: HttpTransportDeps) {
  // 4/3: Engine.IO's polling payload carries a binary message in base64; one message of
  // MAX_PAYLOAD_BYTES must fit, and HttpSocket refuses (1009) a decoded message above it.
  const maxHttpBufferSize = Math.ceil((deps.maxPayloadBytes * 4) / 3) + 1024
  // Three pings per sweep period: a healthy idle poller answers at least one between two of the
  // sweep's liveness checks (Connection.alive reads the pongs), a dead one is closed by Engine.IO.
  const pingMs = Math.max(50, Math.floor(deps.pingIntervalMs / 3))
  const engine = new EngineServer({
    transports: ['polling'],
    allowUpgrades: false,
    maxHttpBufferSize,
    pingInterval: pingMs,
    pingTimeout: pingMs,
    allowEIO3: false,
  })
  const reserved = new WeakMap<IncomingMessage, Reserved>()
  const sessions = (engine as unknown as { clients: Record<string, EioSocket | undefined> }).clients

  // Cross-origin pages (an embed): the handshake's Origin passed authorize; later requests of the
  // session are answered to that same Origin only.
  engine.on('headers', (headers: Record<string, string>, req: IncomingMessage & { _query?: Record<string, string> }) => {
    const origin = req.headers.origin
    if (origin === undefined) return
    const sid = req._query?.sid
    const allowed = sid === undefined ? reserved.has(req) : sessions[sid]?.request.headers.origin === origin
    if (allowed) headers['Access-Control-Allow-Origin'] = origin
  })

  engine.on('connection', (eio: EioSocket) => {
    const r = reserved.get(eio.request)
    reserved.delete(eio.request)
    if (!r) {
      eio.close(true) // not through our handshake (never expected)
      return
    }
    deps.start(new HttpSocket(eio, r.protocol, deps.maxPayloadBytes), r.room, r.decision, r.slot)
  })

  function refuse(res: ServerResponse, status: number, reason: string): void {
    deps.refused(reason)
    if (res.headersSent || res.destroyed) return
    res.writeHead(status, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' }).end(`${reason}\n`)
  }

  /** The handshake's checks; undefined when refused (answered here). */
  async function reserve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<Reserved | undefined> {
    if (deps.draining()) return void refuse(res, 503, 'shutting-down')
    if (req.method !== 'GET' || url.searchParams.get('transport') !== 'polling') return void refuse(res, 400, 'bad-handshake')
    if (!deps.takeHandshake(req)) return void refuse(res, 429, 'too-many-handshakes')
    let room: string
    try {
      room = validateRoomName(url.searchParams.get('room') ?? '')
    } catch (err) {
      return void refuse(res, 400, err instanceof ProtocolError ? err.reason : 'bad-room')
    }
    const decision = await deps.authorize(req, room)
    if (!decision.ok) return void refuse(res, decision.status, decision.reason)
    const slot = deps.admit(req, decision.room)
    if (!slot.ok) return void refuse(res, slot.status, slot.reason)
    if (res.destroyed) {
      slot.release()
      return void refuse(res, 499, 'client-gone')
    }
    let loaded: Room
    try {
      loaded = await deps.acquire(decision.room)
    } catch (err) {
      slot.release()
      deps.log.error({ err, room: decision.room }, 'room failed to load')
      return void refuse(res, 503, 'room-unavailable')
    }
    if (deps.draining() || res.destroyed) {
      slot.release()
      deps.release(loaded)
      return void refuse(res, 503, deps.draining() ? 'shutting-down' : 'client-gone')
    }
    const protocol = url.searchParams.get(HTTP_PROTOCOL_PARAM) === SAVED_ACK_PROTOCOL && decision.access === 'write' ? SAVED_ACK_PROTOCOL : ''
    return { room: loaded, decision, slot, protocol }
  }

  async function handshake(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const r = await reserve(req, res, url)
    if (!r) return
    reserved.set(req, r)
    // Engine.IO may still refuse it (a bad EIO version): then nothing adopted what was reserved.
    res.once('close', () => {
      if (!reserved.has(req)) return
      reserved.delete(req)
      r.slot.release()
      deps.release(r.room)
    })
    engine.handleRequest(req, res)
  }

  return {
    /** Whether this request is the transport's (its path). */
    matches(path: string): boolean {
      return path === HTTP_TRANSPORT_PATH
    },
    handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
      if (url.searchParams.has('sid')) {
        engine.handleRequest(req, res)
        return
      }
      handshake(req, res, url).catch((err: unknown) => {
        deps.log.error({ err }, 'http transport handshake failed')
        refuse(res, 500, 'internal-error')
      })
    },
    close(): void {
      engine.close()
    },
  }
}
