import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { HTTP_TRANSPORT_PATH } from '@tandem/sync'
import { ConfigError, MIN_AUTH_SECRET_BYTES, type Config } from './config.js'
import { createLogger, type Logger } from './log.js'
import { createMetrics } from './metrics.js'
import { createBackends, createFanout } from './backends.js'
import { createTandemServer as createServer } from './server.js'
import type { DocStore } from './store/types.js'
import type { Fanout } from './fanout/types.js'
import { httpsServerFactory } from './net/tls.js'
import { configFromOptions, type ConfigOptions } from './library/options.js'
import { hookAuthorizers, type Authenticate } from './library/authenticate.js'
import { hookEvents, type EventHooks } from './library/events.js'

/**
 * @tandem/server as a library (README "Use as a library"): the same server as the `tandem` CLI
 * (main.ts), composed from options instead of environment variables, mounted on the app's own
 * HTTP server, with hooks. The hooks never sit in the update path: authenticate runs before a
 * socket or a request is let in (with a deadline), the notifications after the fact, unawaited.
 */
export { ConfigError }
export type { ConfigOptions }
export type { Authenticate, AuthenticateContext, Identity, Refusal } from './library/authenticate.js'
export type { ChangeInfo, ConnectionInfo } from './library/events.js'
export type { DocStore } from './store/types.js'
export type { Logger }

export interface TandemServerOptions extends ConfigOptions, EventHooks {
  /** 'sqlite' (default: under dataDir), 'postgres' (databaseUrl) or 'memory' (not durable); or a DocStore of the app's, which it closes itself */
  store?: Config['store'] | DocStore
  /** the app's sessions instead of JWTs (authSecret and the other auth* options must then be unset) */
  authenticate?: Authenticate
  /** longest wait for authenticate (ms, default 5000): then 503 `auth-hook-timeout` */
  hookTimeoutMs?: number
  /** a pino logger of the app's (default: JSON lines on stderr at logLevel) */
  logger?: Logger
}

export interface TandemServer {
  /** for the app server's 'upgrade' event: every upgrade it hands over is a Tandem room (the path is the room) */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void
  /**
   * For the app server's 'request' event, or as Express/Connect middleware: /api/…, /healthz and
   * /metrics (and the editor's pages when editorDir is set). Anything else goes to `next` when
   * given, else is answered 404.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse, next?: () => void): void
  /** a server of Tandem's own on port/host (and tlsCert/tlsKey), as the CLI runs it; not needed when mounted */
  listen(): Promise<AddressInfo>
  /** rooms loaded and WebSocket connections open */
  readonly roomCount: number
  readonly connectionCount: number
  /**
   * Graceful shutdown: new upgrades are refused (503), sockets closed with 1001 after pending
   * writes are stored; then the store and fan-out it created (not a store the app passed) are closed.
   */
  close(): Promise<void>
}

const LIBRARY_OPTIONS = ['store', 'authenticate', 'hookTimeoutMs', 'logger', 'onChange', 'onConnect', 'onDisconnect'] as const

export async function createTandemServer(options: TandemServerOptions = {}): Promise<TandemServer> {
  const { store: storeOption, authenticate, logger, onChange, onConnect, onDisconnect } = options
  const hookTimeoutMs = options.hookTimeoutMs ?? 5_000
  if (!Number.isInteger(hookTimeoutMs) || hookTimeoutMs < 1 || hookTimeoutMs > 600_000) {
    throw new ConfigError('hookTimeoutMs', `must be a whole number of ms between 1 and 600000, got ${String(hookTimeoutMs)}`)
  }
  for (const [name, fn] of Object.entries({ authenticate, onChange, onConnect, onDisconnect })) {
    if (fn !== undefined && typeof fn !== 'function') throw new ConfigError(name, 'must be a function')
  }
  const appStore = typeof storeOption === 'object' && storeOption !== null ? storeOption : undefined
  const storeKind = typeof storeOption === 'string' ? storeOption : undefined
  if (storeOption !== undefined && !appStore && !storeKind) throw new ConfigError('store', 'must be sqlite, postgres, memory or a DocStore')
  if (appStore && (typeof appStore.append !== 'function' || typeof appStore.load !== 'function')) throw new ConfigError('store', 'is not a DocStore')

  const configOptions: Record<string, unknown> = { ...options }
  for (const name of LIBRARY_OPTIONS) delete configOptions[name]
  const config = configFromOptions(configOptions, appStore ? 'memory' : storeKind)
  if (authenticate && config.auth) throw new ConfigError('authenticate', 'replaces token verification: unset authSecret and the other auth* options')

  const log = logger ?? createLogger(config.logLevel)
  if (config.authSecret && Buffer.byteLength(config.authSecret) < MIN_AUTH_SECRET_BYTES) {
    log.warn(`authSecret is shorter than ${MIN_AUTH_SECRET_BYTES} bytes: anyone holding one token can brute-force it offline`)
  }
  const metrics = createMetrics()
  let store: DocStore
  let fanout: Fanout
  if (appStore) {
    store = appStore
    fanout = createFanout(config, log, { metricsRegistry: metrics.registry })
  } else {
    ;({ store, fanout } = await createBackends(config, log, { metricsRegistry: metrics.registry }))
  }
  const hooked = authenticate && hookAuthorizers(authenticate, { allowedOrigins: config.allowedOrigins, timeoutMs: hookTimeoutMs, log })
  const server = createServer({
    config,
    store,
    fanout,
    log,
    metrics,
    createServer: config.tls && httpsServerFactory(config.tls),
    authorize: hooked ? hooked.authorize : undefined,
    authorizeHttp: hooked ? hooked.authorizeHttp : undefined,
    events: hookEvents({ onChange, onConnect, onDisconnect }, log),
  })
  const ours = (path: string) =>
    config.editorDir !== '' || path === '/healthz' || path === '/metrics' || path === '/api' || path.startsWith('/api/') || path === HTTP_TRANSPORT_PATH

  let closing: Promise<void> | undefined
  return {
    handleUpgrade: server.handleUpgrade,
    handleRequest(req, res, next) {
      const path = (req.url ?? '/').split(/[?#]/, 1)[0]!
      if (next && !ours(path)) return next()
      server.handleRequest(req, res)
    },
    listen: () => server.listen(),
    get roomCount() {
      return server.registry.size
    },
    get connectionCount() {
      return server.connectionCount
    },
    close() {
      closing ??= server.close().then(async () => {
        await fanout.close()
        if (!appStore) await store.close()
      })
      return closing
    },
  }
}
