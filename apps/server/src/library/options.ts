import { ConfigError, loadConfig, type Config } from '../config.js'

/**
 * The library's configuration options: the environment variables of the CLI (README
 * "Configuration"), named in camelCase (MAX_PAYLOAD_BYTES → maxPayloadBytes) and checked by the
 * same parser (config.ts) with the same bounds. A bad value throws a ConfigError naming the option.
 * Numbers may be given as numbers, lists (allowedOrigins) as arrays.
 */
type Scalar = Exclude<keyof Config, 'auth' | 'tls' | 'allowedOrigins' | 'store'>

export type ConfigOptions = { [K in Scalar]?: Config[K] } & {
  /** ALLOWED_ORIGINS: a list, or one comma-separated string */
  allowedOrigins?: string | readonly string[]
  /** AUTH_SECRETS ("kid:secret,…"), AUTH_SECRETS_FILE, AUTH_JWKS_FILE / _URL / _TIMEOUT_MS / _ISSUER / _AUDIENCE */
  authSecrets?: string
  authSecretsFile?: string
  authJwksFile?: string
  authJwksUrl?: string
  authJwksTimeoutMs?: number
  authJwksIssuer?: string
  authJwksAudience?: string
  maxRevocations?: number
  revocationTtlSeconds?: number
  /** TLS_CERT / TLS_KEY: PEM file paths, for listen() (an app's own server does its own TLS) */
  tlsCert?: string
  tlsKey?: string
}

const toEnvName = (option: string) => option.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase()
const toOptionName = (env: string) => env.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/**
 * Options → Config, through loadConfig: each option becomes the environment variable it stands
 * for, and the parser records which variables it reads, so an option that names none (a typo)
 * is refused. `store`: the backend kind ('memory' when the app brings its own store object, so
 * that no data directory is created for SQLite).
 */
export function configFromOptions(options: Record<string, unknown>, store: Config['store'] | undefined): Config {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue
    env[toEnvName(name)] = envValue(name, value)
  }
  if (store !== undefined) env.STORE = store
  const read = new Set<string>()
  const recorded = new Proxy(env, {
    get(target, key) {
      if (typeof key === 'string') read.add(key)
      return typeof key === 'string' ? target[key] : undefined
    },
  })
  let config: Config
  try {
    // No editor unless the app asks for one (editorDir): its pages are its own.
    config = loadConfig(recorded, { editorDir: '' })
  } catch (err) {
    if (err instanceof ConfigError) throw renamed(err, read)
    throw err
  }
  for (const name of Object.keys(options)) {
    if (options[name] !== undefined && !read.has(toEnvName(name))) throw new ConfigError(name, 'is not an option of createTandemServer')
  }
  return config
}

function envValue(name: string, value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ConfigError(name, `expected a number, got ${String(value)}`)
    return String(value)
  }
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(',')
  throw new ConfigError(name, `expected a string or a number, got ${typeof value}`)
}

/** The parser's error, naming options instead of environment variables. */
function renamed(err: ConfigError, read: Set<string>): ConfigError {
  const prefix = `${err.variable}: `
  const message = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message
  const option = (env: string) => (read.has(env) ? toOptionName(env) : env)
  return new ConfigError(option(err.variable), message.replace(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\b[A-Z]{4,}\b/g, option))
}
