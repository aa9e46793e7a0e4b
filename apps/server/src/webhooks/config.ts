/**
 * The webhook settings (README "Webhooks"), parsed from the environment by `loadConfig`
 * (config.ts, the only reader of process.env), which turns a `WebhookConfigError` into its own
 * `ConfigError` naming the variable.
 */
export interface WebhookConfig {
  /** WEBHOOK_URL: every receiver (comma-separated, http:// or https://); each gets every event */
  urls: readonly string[]
  /** WEBHOOK_SECRET: the HMAC-SHA256 key of `X-Tandem-Signature` */
  secret: string
  /** WEBHOOK_DEBOUNCE_MS: a room's `document.changed` waits for this much quiet… */
  debounceMs: number
  /** WEBHOOK_MAX_WAIT_MS: …but a busy room sends one at least this often */
  maxWaitMs: number
  /** WEBHOOK_TIMEOUT_MS: one delivery's whole request (connect, send, response headers) */
  timeoutMs: number
  /** WEBHOOK_MAX_ATTEMPTS: deliveries per event and receiver before it is kept as dead */
  maxAttempts: number
}

export class WebhookConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(message)
  }
}

type Env = Record<string, string | undefined>

/** A secret shorter than this is brute-forceable from one signed body (as AUTH_SECRET's bound). */
const MIN_SECRET_BYTES = 16

const WEBHOOK_DEFAULTS = Object.freeze({ debounceMs: 2_000, maxWaitMs: 10_000, timeoutMs: 10_000, maxAttempts: 12 })

/** undefined when WEBHOOK_URL is unset: no webhooks, nothing written, no loop started. */
export function parseWebhookConfig(env: Env, store: string): WebhookConfig | undefined {
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim()
    if (raw === undefined || raw === '') return fallback
    if (!/^\d+$/.test(raw)) throw new WebhookConfigError(name, `expected a whole number, got ${JSON.stringify(raw)}`)
    const n = Number(raw)
    if (n < min || n > max) throw new WebhookConfigError(name, `must be between ${min} and ${max}, got ${n}`)
    return n
  }
  // Checked whether or not WEBHOOK_URL is set: a typo must not wait for the day webhooks are turned on.
  const debounceMs = int('WEBHOOK_DEBOUNCE_MS', WEBHOOK_DEFAULTS.debounceMs, 0, 3_600_000)
  const maxWaitMs = int('WEBHOOK_MAX_WAIT_MS', Math.max(WEBHOOK_DEFAULTS.maxWaitMs, debounceMs), 1, 86_400_000)
  if (maxWaitMs < debounceMs) throw new WebhookConfigError('WEBHOOK_MAX_WAIT_MS', `must be at least WEBHOOK_DEBOUNCE_MS (${debounceMs})`)
  const timeoutMs = int('WEBHOOK_TIMEOUT_MS', WEBHOOK_DEFAULTS.timeoutMs, 100, 300_000)
  const maxAttempts = int('WEBHOOK_MAX_ATTEMPTS', WEBHOOK_DEFAULTS.maxAttempts, 1, 100)
  const raw = env.WEBHOOK_URL?.trim()
  const secret = env.WEBHOOK_SECRET ?? ''
  if (!raw) {
    if (secret) throw new WebhookConfigError('WEBHOOK_SECRET', 'is set but WEBHOOK_URL is not: set the receivers too, or unset it')
    return undefined
  }
  const urls = [
    ...new Set(
      raw
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean)
        .map(receiver),
    ),
  ]
  if (!secret) throw new WebhookConfigError('WEBHOOK_SECRET', 'is required with WEBHOOK_URL: receivers verify every event with it')
  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
    throw new WebhookConfigError('WEBHOOK_SECRET', `must be at least ${MIN_SECRET_BYTES} bytes (use \`openssl rand -hex 32\`)`)
  }
  if (store === 'memory') {
    throw new WebhookConfigError('WEBHOOK_URL', 'needs a durable store (SQLite or PostgreSQL): events are written with the change they report')
  }
  return Object.freeze({ urls: Object.freeze(urls), secret, debounceMs, maxWaitMs, timeoutMs, maxAttempts })
}

function receiver(raw: string): string {
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    throw new WebhookConfigError('WEBHOOK_URL', `${JSON.stringify(raw)} is not a URL`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new WebhookConfigError('WEBHOOK_URL', `${JSON.stringify(raw)} must start with http:// or https://`)
  if (u.username || u.password) throw new WebhookConfigError('WEBHOOK_URL', `${JSON.stringify(raw)}: credentials in the URL would be logged; authenticate with the signature`)
  return u.href
}
