import { accessSync, constants, mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { DEFAULT_FANOUT_HEARTBEAT_MS, DEFAULT_PG_POOL_MAX, DEFAULT_PG_SCHEMA, DEFAULT_PG_STATEMENT_TIMEOUT_MS, DEFAULT_REDIS_PREFIX, PG_SCHEMA_NAME } from './defaults.js'
import { parseFrameAncestors } from './net/security-headers.js'
import { WebhookConfigError, parseWebhookConfig, type WebhookConfig } from './webhooks/config.js'
import { KeySourceError, MIN_AUTH_SECRET_BYTES, parseSecretList, readKeyMaterial, readSecretsFile, type KeyMaterial, type KeySources } from './auth/keys.js'

export { MIN_AUTH_SECRET_BYTES }

/**
 * The ONLY reader of process.env. Everything else receives a frozen Config.
 * A bad value stops the server at startup with a message naming the variable.
 */
export interface Config {
  port: number
  host: string
  dataDir: string
  /** 'sqlite' (default, under dataDir), 'postgres' (DATABASE_URL) or 'memory' (STORE=memory: benchmarks/tests only, NOT durable) */
  store: 'sqlite' | 'postgres' | 'memory'
  databaseUrl: string | undefined
  redisUrl: string | undefined
  authSecret: string | undefined
  /** every key source (AUTH_SECRET, AUTH_SECRETS[_FILE], AUTH_JWKS_FILE/URL) and revocation settings; undefined = open server */
  auth: AuthConfig | undefined
  allowedOrigins: readonly string[] | undefined
  logLevel: string
  /** ws maxPayload: larger frames close the socket with 1009 */
  maxPayloadBytes: number
  /** MAX_UPLOAD_BYTES: the largest image upload (api/uploads.ts); larger is 413 */
  maxUploadBytes: number
  /** MAX_ROOM_UPLOAD_BYTES: all uploads of one room together; past it an upload is 507 */
  maxRoomUploadBytes: number
  /** WS_COMPRESSION: negotiate permessage-deflate with clients that offer it (net/compression.ts) */
  wsCompression: boolean
  /** WS_COMPRESSION_THRESHOLD: messages shorter than this many bytes are sent uncompressed */
  wsCompressionThreshold: number
  /** bufferedAmount above this (beyond the initial sync reply) closes a slow consumer with 1013 */
  maxBufferedBytes: number
  pingIntervalMs: number
  /** largest awareness entry (one client's presence state) accepted */
  maxAwarenessBytes: number
  /** document budgets per room (update/inspect.ts, update/pending.ts): past them an update is refused */
  maxDocStructs: number
  maxDocBytes: number
  maxNestingDepth: number
  maxPendingBytes: number
  pendingTimeoutMs: number
  /** MAX_PRESENCE_BYTES_PER_CONNECTION: the states one connection may hold in a room, in total; over → close 1008 */
  maxPresenceBytesPerConnection: number
  /** compaction: fold the update log into a snapshot after this many updates or bytes */
  compactAfterUpdates: number
  compactAfterBytes: number
  /** version history: an automatic version after this long without changes (0: no automatic versions) */
  historyQuietMs: number
  /** ...and at most this long apart while a room keeps changing */
  historyMaxIntervalMs: number
  /** retention: every automatic version younger than this is kept... */
  historyKeepAllMs: number
  /** ...then one per hour until this age, then one per day (named versions are always kept) */
  historyHourlyMs: number
  /** SQLite PRAGMA synchronous: NORMAL survives process crashes (kill -9); FULL also power loss */
  sqliteSynchronous: 'NORMAL' | 'FULL'
  shutdownTimeoutMs: number
  /** directory of the built editor served at / (empty string = do not serve) */
  editorDir: string
  /** FRAME_ANCESTORS: CSP frame-ancestors sources of the editor pages (who may frame them) */
  frameAncestors: string
  pgPoolMax: number
  pgStatementTimeoutMs: number
  /** PG_SCHEMA: PostgreSQL schema holding Tandem's tables (created and migrated on start) */
  pgSchema: string
  /** REDIS_PREFIX: Redis channel namespace; servers that act as one share it */
  redisPrefix: string
  /** FANOUT_HEARTBEAT_MS: server heartbeat on Redis; a peer silent for 3 heartbeats counts as gone */
  fanoutHeartbeatMs: number
  /** TLS_CERT + TLS_KEY (PEM paths, both or neither): listen with https/wss */
  tls: { certFile: string; keyFile: string } | undefined
  /** reverse proxies in front whose X-Forwarded-For entry is trusted for per-client limits (0 = none) */
  trustProxy: number
  /** upgrade-time limits (0 = unlimited): refused with 429/503 before the socket opens */
  maxConnectionsPerIp: number
  maxConnectionsPerRoom: number
  maxRooms: number
  /** sockets per client address (IPv6 /64) not yet upgraded; more are destroyed at accept (0 = off) */
  maxHalfOpenPerIp: number
  /** request headers must be complete this long after accept, or the socket is destroyed */
  headersTimeoutMs: number
  /** per-connection inbound token buckets (0 per-second = unlimited): exceeded → close 1008 */
  rateLimitMessagesPerSec: number
  rateLimitMessageBurst: number
  rateLimitBytesPerSec: number
  rateLimitByteBurst: number
  /** per client address (IPv6 /64, TRUST_PROXY) token buckets (0 per-second = off): WebSocket handshakes → 429 at the upgrade */
  rateLimitHandshakesPerSec: number
  rateLimitHandshakeBurst: number
  /** …and /api requests → 429 JSON with Retry-After */
  rateLimitApiPerSec: number
  rateLimitApiBurst: number
  /** WEBHOOK_URL, WEBHOOK_SECRET, WEBHOOK_*_MS, WEBHOOK_MAX_ATTEMPTS (webhooks/config.ts); undefined = no webhooks */
  webhooks: WebhookConfig | undefined
}

interface AuthConfig {
  sources: KeySources
  /** the key files' content at startup (read and checked here, re-read on SIGHUP) */
  initial: KeyMaterial
  /** AUTH_JWKS_URL: an identity provider's JWKS, fetched and cached by jose */
  jwksUrl: string | undefined
  /** AUTH_JWKS_TIMEOUT_MS: longest wait for that URL */
  jwksTimeoutMs: number
  /** AUTH_JWKS_ISSUER / AUTH_JWKS_AUDIENCE: required `iss` / `aud` of tokens verified with the JWKS */
  jwksIssuer: string | undefined
  jwksAudience: string | undefined
  /** MAX_REVOCATIONS: deny-list entries held at once; more are refused */
  maxRevocations: number
  /** REVOCATION_TTL_SECONDS: how long a revocation without `exp` is kept */
  revocationTtlSeconds: number
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`)
  }
}

type Env = Record<string, string | undefined>

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `expected a whole number, got ${JSON.stringify(raw)}`)
  const n = Number(raw)
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`)
  return n
}

const DAY_MS = 24 * 3_600_000

/** The version history's timings (HISTORY_*): the hourly window cannot end before the keep-all one. */
function history(env: Env) {
  const historyQuietMs = int(env, 'HISTORY_QUIET_MS', 5 * 60_000, 0, 7 * DAY_MS)
  const historyMaxIntervalMs = int(env, 'HISTORY_MAX_INTERVAL_MS', 30 * 60_000, 10, 7 * DAY_MS)
  const historyKeepAllMs = int(env, 'HISTORY_KEEP_ALL_MS', DAY_MS, 0, 3650 * DAY_MS)
  const historyHourlyMs = int(env, 'HISTORY_HOURLY_MS', 30 * DAY_MS, 0, 3650 * DAY_MS)
  if (historyHourlyMs < historyKeepAllMs) throw new ConfigError('HISTORY_HOURLY_MS', `must be at least HISTORY_KEEP_ALL_MS (${historyKeepAllMs})`)
  return { historyQuietMs, historyMaxIntervalMs, historyKeepAllMs, historyHourlyMs }
}

function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    throw new ConfigError(name, 'is not a valid URL')
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => p + '//').join(' or ')}`)
  }
  return raw
}

function pattern(env: Env, name: string, re: RegExp, expected: string, fallback: string): string {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!re.test(raw)) throw new ConfigError(name, `expected ${expected}, got ${JSON.stringify(raw)}`)
  return raw
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const v = raw.trim() as T
  if (!values.includes(v)) throw new ConfigError(name, `must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`)
  return v
}

function frameAncestors(env: Env): string {
  const raw = env.FRAME_ANCESTORS
  if (raw === undefined || raw.trim() === '') return "'self'"
  const parsed = parseFrameAncestors(raw)
  if (!parsed.ok) throw new ConfigError('FRAME_ANCESTORS', parsed.message)
  return parsed.value
}

function writableDir(name: string, dir: string): string {
  const abs = resolve(dir)
  try {
    mkdirSync(abs, { recursive: true })
    accessSync(abs, constants.W_OK | constants.R_OK)
  } catch (err) {
    throw new ConfigError(name, `${abs} is not a writable directory (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
  }
  return abs
}

/** AUTH_SECRET alone, for the token CLI (which must not create DATA_DIR or need anything else). */
function loadAuthSecret(env: Env): string {
  const secret = env.AUTH_SECRET
  if (!secret) throw new ConfigError('AUTH_SECRET', "is not set: tokens are signed with the server's secret")
  return secret
}

/**
 * The secret the token CLI signs with: AUTH_SECRET without a kid, else the kid's entry of
 * AUTH_SECRETS or AUTH_SECRETS_FILE.
 */
export function loadSigningSecret(env: Env, kid: string | undefined): string {
  if (kid === undefined) return loadAuthSecret(env)
  const file = env.AUTH_SECRETS_FILE?.trim()
  const variable = file ? 'AUTH_SECRETS_FILE' : 'AUTH_SECRETS'
  let secrets
  try {
    if (file) secrets = readSecretsFile(resolve(file))
    else if (env.AUTH_SECRETS?.trim()) secrets = parseSecretList(env.AUTH_SECRETS, 'AUTH_SECRETS')
    else throw new ConfigError('AUTH_SECRETS', 'is not set (nor AUTH_SECRETS_FILE): --kid names one of their kid:secret entries')
  } catch (err) {
    if (err instanceof KeySourceError) throw new ConfigError(err.variable, err.message)
    throw err
  }
  const found = secrets.find((s) => s.kid === kid)
  if (!found) throw new ConfigError(variable, `has no kid "${kid}" (it has ${secrets.map((s) => s.kid).join(', ')})`)
  return found.secret
}

/** http:// only to this machine: a JWKS fetched in the clear can be swapped for an attacker's keys. */
function jwksUrl(env: Env): string | undefined {
  const raw = url(env, 'AUTH_JWKS_URL', ['https:', 'http:'])
  if (raw === undefined) return undefined
  const { protocol, hostname } = new URL(raw)
  const loopback = hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname)
  if (protocol === 'http:' && !loopback) throw new ConfigError('AUTH_JWKS_URL', 'must be https:// (http:// only for a loopback address)')
  return raw
}

function authConfig(env: Env): AuthConfig | undefined {
  const nonEmpty = (name: string) => env[name]?.trim() || undefined
  const secretsFile = nonEmpty('AUTH_SECRETS_FILE')
  const jwksFile = nonEmpty('AUTH_JWKS_FILE')
  const url = jwksUrl(env)
  if (nonEmpty('AUTH_SECRETS') && secretsFile) throw new ConfigError('AUTH_SECRETS_FILE', 'AUTH_SECRETS and AUTH_SECRETS_FILE are exclusive: set one')
  if (jwksFile && url) throw new ConfigError('AUTH_JWKS_URL', 'AUTH_JWKS_FILE and AUTH_JWKS_URL are exclusive: set one')
  const jwksIssuer = nonEmpty('AUTH_JWKS_ISSUER')
  const jwksAudience = nonEmpty('AUTH_JWKS_AUDIENCE')
  for (const [name, value] of [['AUTH_JWKS_ISSUER', jwksIssuer], ['AUTH_JWKS_AUDIENCE', jwksAudience]] as const) {
    if (value && !jwksFile && !url) throw new ConfigError(name, 'applies to tokens verified with a JWKS: set AUTH_JWKS_FILE or AUTH_JWKS_URL')
  }
  let sources: KeySources
  let initial: KeyMaterial
  try {
    const secrets = nonEmpty('AUTH_SECRETS') && parseSecretList(env.AUTH_SECRETS!, 'AUTH_SECRETS')
    sources = Object.freeze({
      secret: env.AUTH_SECRET || undefined,
      secrets: secrets || undefined,
      secretsFile: secretsFile && resolve(secretsFile),
      jwksFile: jwksFile && resolve(jwksFile),
    })
    initial = readKeyMaterial(sources)
  } catch (err) {
    if (err instanceof KeySourceError) throw new ConfigError(err.variable, err.message)
    throw err
  }
  // Checked whether or not a key is configured: a typo must not wait for the day auth is turned on.
  const jwksTimeoutMs = int(env, 'AUTH_JWKS_TIMEOUT_MS', 5_000, 100, 60_000)
  const maxRevocations = int(env, 'MAX_REVOCATIONS', 10_000, 1, 10_000_000)
  const revocationTtlSeconds = int(env, 'REVOCATION_TTL_SECONDS', 7 * 86_400, 1, 366 * 86_400)
  if (!sources.secret && initial.secrets.length === 0 && !initial.jwks && !url) return undefined
  return Object.freeze({ sources, initial, jwksUrl: url, jwksTimeoutMs, jwksIssuer, jwksAudience, maxRevocations, revocationTtlSeconds })
}

export function loadConfig(env: Env = process.env, defaults: { editorDir: string }): Config {
  const port = int(env, 'PORT', 1234, 0, 65535)
  const host = env.HOST?.trim() || '127.0.0.1'
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:'])
  const redisUrl = url(env, 'REDIS_URL', ['redis:', 'rediss:'])
  if (redisUrl && !databaseUrl) {
    throw new ConfigError(
      'REDIS_URL',
      'requires DATABASE_URL: servers sharing a fan-out must share one store, or their documents diverge',
    )
  }
  const storeOverride = oneOf(env, 'STORE', ['sqlite', 'postgres', 'memory'] as const, databaseUrl ? 'postgres' : 'sqlite')
  if (storeOverride === 'postgres' && !databaseUrl) throw new ConfigError('STORE', 'postgres requires DATABASE_URL')
  const store = storeOverride
  const dataDir = store === 'sqlite' ? writableDir('DATA_DIR', env.DATA_DIR || './data') : resolve(env.DATA_DIR || './data')
  const origins = env.ALLOWED_ORIGINS?.trim()
  const allowedOrigins = origins
    ? origins.split(',').map((o) => o.trim()).filter(Boolean).map((o) => {
        try {
          return new URL(o).origin
        } catch {
          throw new ConfigError('ALLOWED_ORIGINS', `${JSON.stringify(o)} is not an origin like https://example.com`)
        }
      })
    : undefined
  const authSecret = env.AUTH_SECRET || undefined
  const auth = authConfig(env)
  const maxPayloadBytes = int(env, 'MAX_PAYLOAD_BYTES', 16 * 1024 * 1024, 1024, 512 * 1024 * 1024)
  const tlsCert = env.TLS_CERT?.trim() || undefined
  const tlsKey = env.TLS_KEY?.trim() || undefined
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new ConfigError(tlsCert ? 'TLS_KEY' : 'TLS_CERT', 'TLS_CERT and TLS_KEY must be set together (PEM file paths)')
  }
  const maxAwarenessBytes = int(env, 'MAX_AWARENESS_BYTES', 64 * 1024, 64, 16 * 1024 * 1024)
  const maxPresenceBytesPerConnection = int(env, 'MAX_PRESENCE_BYTES_PER_CONNECTION', 256 * 1024, 64, 1024 * 1024 * 1024)
  if (maxPresenceBytesPerConnection < maxAwarenessBytes) {
    throw new ConfigError(
      'MAX_PRESENCE_BYTES_PER_CONNECTION',
      `must be at least MAX_AWARENESS_BYTES (${maxAwarenessBytes}), or a connection could not hold one state of that size`,
    )
  }
  const rateLimitMessagesPerSec = int(env, 'RATE_LIMIT_MESSAGES_PER_SEC', 200, 0, 10_000_000)
  const rateLimitBytesPerSec = int(env, 'RATE_LIMIT_BYTES_PER_SEC', 1024 * 1024, 0, 1024 * 1024 * 1024)
  // A frame larger than the byte burst could never pass the bucket: the burst must hold the largest legal frame.
  const rateLimitByteBurst = int(env, 'RATE_LIMIT_BYTE_BURST', maxPayloadBytes, 1, 1024 * 1024 * 1024)
  if (rateLimitBytesPerSec > 0 && rateLimitByteBurst < maxPayloadBytes) {
    throw new ConfigError('RATE_LIMIT_BYTE_BURST', `must be at least MAX_PAYLOAD_BYTES (${maxPayloadBytes}), or no frame of that size could ever pass`)
  }
  const trustProxy = int(env, 'TRUST_PROXY', 0, 0, 10)
  const maxUploadBytes = int(env, 'MAX_UPLOAD_BYTES', 5 * 1024 * 1024, 1024, 256 * 1024 * 1024)
  const maxRoomUploadBytes = int(env, 'MAX_ROOM_UPLOAD_BYTES', 100 * 1024 * 1024, 0, 2 ** 40)
  if (maxRoomUploadBytes > 0 && maxRoomUploadBytes < maxUploadBytes) {
    throw new ConfigError('MAX_ROOM_UPLOAD_BYTES', `must be 0 (no uploads) or at least MAX_UPLOAD_BYTES (${maxUploadBytes})`)
  }
  const webhooks = webhookConfig(env, store)
  return Object.freeze({
    port,
    host,
    dataDir,
    store,
    databaseUrl,
    redisUrl,
    authSecret,
    auth,
    allowedOrigins: allowedOrigins && Object.freeze(allowedOrigins),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    maxPayloadBytes,
    maxUploadBytes,
    maxRoomUploadBytes,
    wsCompression: oneOf(env, 'WS_COMPRESSION', ['off', 'on'] as const, 'off') === 'on',
    wsCompressionThreshold: int(env, 'WS_COMPRESSION_THRESHOLD', 1024, 0, 1024 * 1024 * 1024),
    maxBufferedBytes: int(env, 'MAX_BUFFERED_BYTES', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    pingIntervalMs: int(env, 'PING_INTERVAL_MS', 30_000, 100, 3_600_000),
    maxAwarenessBytes,
    maxPresenceBytesPerConnection,
    maxDocStructs: int(env, 'MAX_DOC_STRUCTS', 1_000_000, 100, 1_000_000_000),
    maxDocBytes: int(env, 'MAX_DOC_BYTES', 64 * 1024 * 1024, 1024, 2 ** 40),
    maxNestingDepth: int(env, 'MAX_NESTING_DEPTH', 128, 4, 1_000_000),
    maxPendingBytes: int(env, 'MAX_PENDING_BYTES', 1024 * 1024, 0, 1024 * 1024 * 1024),
    pendingTimeoutMs: int(env, 'PENDING_TIMEOUT_MS', 10_000, 100, 3_600_000),
    compactAfterUpdates: int(env, 'COMPACT_AFTER_UPDATES', 500, 1, 10_000_000),
    compactAfterBytes: int(env, 'COMPACT_AFTER_BYTES', 4 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    ...history(env),
    sqliteSynchronous: oneOf(env, 'SQLITE_SYNCHRONOUS', ['NORMAL', 'FULL'] as const, 'NORMAL'),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 5_000, 0, 600_000),
    editorDir: env.EDITOR_DIR ?? defaults.editorDir,
    frameAncestors: frameAncestors(env),
    pgPoolMax: int(env, 'PG_POOL_MAX', DEFAULT_PG_POOL_MAX, 1, 1000),
    pgStatementTimeoutMs: int(env, 'PG_STATEMENT_TIMEOUT_MS', DEFAULT_PG_STATEMENT_TIMEOUT_MS, 0, 3_600_000),
    pgSchema: pattern(env, 'PG_SCHEMA', PG_SCHEMA_NAME, 'a lower-case SQL identifier (letters, digits, _)', DEFAULT_PG_SCHEMA),
    redisPrefix: pattern(env, 'REDIS_PREFIX', /^[\x21-\x7e]{1,64}$/, '1-64 printable ASCII characters, no spaces', DEFAULT_REDIS_PREFIX),
    // Must stay well under y-protocols' 30 s awareness timeout: a dead peer is noticed after 3 beats.
    fanoutHeartbeatMs: int(env, 'FANOUT_HEARTBEAT_MS', DEFAULT_FANOUT_HEARTBEAT_MS, 50, 9_000),
    tls: tlsCert && tlsKey ? Object.freeze({ certFile: resolve(tlsCert), keyFile: resolve(tlsKey) }) : undefined,
    trustProxy,
    maxConnectionsPerIp: int(env, 'MAX_CONNECTIONS_PER_IP', 100, 0, 10_000_000),
    maxConnectionsPerRoom: int(env, 'MAX_CONNECTIONS_PER_ROOM', 1000, 0, 10_000_000),
    maxRooms: int(env, 'MAX_ROOMS', 10_000, 0, 10_000_000),
    // Counted by the TCP peer (nothing else is known before the headers): behind a proxy that
    // is the proxy, for every client at once, so the default is off there.
    maxHalfOpenPerIp: int(env, 'MAX_HALF_OPEN_PER_IP', trustProxy > 0 ? 0 : 50, 0, 10_000_000),
    headersTimeoutMs: int(env, 'HEADERS_TIMEOUT_MS', 10_000, 100, 600_000),
    rateLimitMessagesPerSec,
    rateLimitMessageBurst: int(env, 'RATE_LIMIT_MESSAGE_BURST', 1000, 1, 10_000_000),
    rateLimitBytesPerSec,
    rateLimitByteBurst,
    rateLimitHandshakesPerSec: int(env, 'RATE_LIMIT_HANDSHAKES_PER_SEC', 20, 0, 10_000_000),
    rateLimitHandshakeBurst: int(env, 'RATE_LIMIT_HANDSHAKE_BURST', 50, 1, 10_000_000),
    rateLimitApiPerSec: int(env, 'RATE_LIMIT_API_PER_SEC', 50, 0, 10_000_000),
    rateLimitApiBurst: int(env, 'RATE_LIMIT_API_BURST', 100, 1, 10_000_000),
    webhooks,
  })
}

function webhookConfig(env: Env, store: string): WebhookConfig | undefined {
  try {
    return parseWebhookConfig(env, store)
  } catch (err) {
    if (err instanceof WebhookConfigError) throw new ConfigError(err.variable, err.message)
    throw err
  }
}
