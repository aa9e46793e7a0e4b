import { readFileSync, statSync } from 'node:fs'
import { createLocalJWKSet, type JSONWebKeySet } from 'jose'

/**
 * Where verification keys come from, and how they are read and checked. Pure parsing: the same
 * functions run at startup (config.ts: a bad value stops the server naming the variable) and on
 * SIGHUP (key-ring.ts: a bad file keeps the previous keys).
 *
 * - AUTH_SECRET: the one HS256 secret of old. It verifies HS256 tokens WITHOUT `kid`; with no
 *   named secrets configured it verifies every HS256 token, `kid` or not (as it always did).
 * - AUTH_SECRETS (`kid:secret,kid:secret`) or AUTH_SECRETS_FILE (one `kid:secret` a line):
 *   HS256 secrets chosen by the token's `kid` header. An unknown `kid` is refused.
 * - AUTH_JWKS_FILE or AUTH_JWKS_URL: public keys (RS256, ES256, EdDSA) of an identity provider.
 */
export interface NamedSecret {
  readonly kid: string
  readonly secret: string
}

/** Below this an HS256 secret is brute-forceable from any token it signed (RFC 7518 §3.2: ≥ 256 bits). */
export const MIN_AUTH_SECRET_BYTES = 32

/** A kid names a secret in logs and headers: short, printable, no separator of the list syntax. */
const KID = /^[A-Za-z0-9._-]{1,64}$/

/** Far above any real key set; a file this large is a mistake, not a key set. */
const MAX_KEY_FILE_BYTES = 1024 * 1024

/** What a file or variable got wrong; `variable` is the environment variable that named it. */
export class KeySourceError extends Error {
  override readonly name = 'KeySourceError'
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message)
  }
}

/**
 * `kid:secret` entries separated by commas or newlines; blank entries and lines starting with
 * `#` are skipped.
 * The secret is everything after the FIRST colon (base64 secrets have none, but may). Messages
 * name the entry by position and kid, never by its secret.
 */
export function parseSecretList(text: string, variable: string): NamedSecret[] {
  const out: NamedSecret[] = []
  const seen = new Set<string>()
  let position = 0
  const entries = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(','))
  for (const raw of entries) {
    const entry = raw.trim()
    if (entry === '') continue
    position++
    const colon = entry.indexOf(':')
    const kid = colon < 0 ? '' : entry.slice(0, colon).trim()
    const secret = colon < 0 ? '' : entry.slice(colon + 1).trim()
    if (!KID.test(kid) || secret === '') {
      throw new KeySourceError(variable, `entry ${position} is not kid:secret (kid: 1-64 letters, digits, "." "_" "-"; secret: not empty)`)
    }
    if (seen.has(kid)) throw new KeySourceError(variable, `kid "${kid}" appears twice`)
    if (Buffer.byteLength(secret) < MIN_AUTH_SECRET_BYTES) {
      throw new KeySourceError(variable, `the secret of kid "${kid}" is shorter than ${MIN_AUTH_SECRET_BYTES} bytes; use \`openssl rand -base64 32\``)
    }
    seen.add(kid)
    out.push(Object.freeze({ kid, secret }))
  }
  if (out.length === 0) throw new KeySourceError(variable, 'holds no kid:secret entry')
  return out
}

function readSmallFile(path: string, variable: string): string {
  try {
    const size = statSync(path).size
    if (size > MAX_KEY_FILE_BYTES) throw new KeySourceError(variable, `${path} is larger than ${MAX_KEY_FILE_BYTES} bytes`)
    return readFileSync(path, 'utf8')
  } catch (err) {
    if (err instanceof KeySourceError) throw err
    throw new KeySourceError(variable, `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
  }
}

export function readSecretsFile(path: string): NamedSecret[] {
  return parseSecretList(readSmallFile(path, 'AUTH_SECRETS_FILE'), 'AUTH_SECRETS_FILE')
}

/** Members that only a private or symmetric key has: a JWKS file holding one leaks it, or is not a JWKS. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const
const PUBLIC_KTY = new Set(['RSA', 'EC', 'OKP'])

/**
 * A JSON Web Key Set of PUBLIC keys. Symmetric (`oct`) and private keys are refused outright:
 * they are never used (HMAC keys come only from the secrets above), and their presence means a
 * secret was published or the wrong file was named.
 */
function parseJwks(text: string, variable: string): JSONWebKeySet {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new KeySourceError(variable, 'is not JSON')
  }
  const keys = (json as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys) || keys.length === 0) throw new KeySourceError(variable, 'is not a JWKS ({"keys": [ … ]} with at least one key)')
  keys.forEach((key: unknown, i) => {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) throw new KeySourceError(variable, `key ${i + 1} is not an object`)
    const jwk = key as Record<string, unknown>
    if (typeof jwk.kty !== 'string' || !PUBLIC_KTY.has(jwk.kty)) {
      throw new KeySourceError(variable, `key ${i + 1} has kty ${JSON.stringify(jwk.kty)}; only public RSA, EC and OKP keys belong here`)
    }
    if (PRIVATE_MEMBERS.some((m) => m in jwk)) throw new KeySourceError(variable, `key ${i + 1} is a private key; publish only public keys`)
  })
  const jwks = json as JSONWebKeySet
  try {
    createLocalJWKSet(jwks)
  } catch (err) {
    throw new KeySourceError(variable, `is not a usable JWKS (${(err as Error).message})`)
  }
  return jwks
}

function readJwksFile(path: string): JSONWebKeySet {
  return parseJwks(readSmallFile(path, 'AUTH_JWKS_FILE'), 'AUTH_JWKS_FILE')
}

/** The keys a server verifies with at one moment: swapped whole on reload. */
export interface KeyMaterial {
  readonly secret: string | undefined
  readonly secrets: readonly NamedSecret[]
  readonly jwks: JSONWebKeySet | undefined
}

/** Where the key material comes from (config.ts fills it from the environment). */
export interface KeySources {
  /** AUTH_SECRET */
  readonly secret: string | undefined
  /** AUTH_SECRETS, parsed (fixed for the process' lifetime, like every variable) */
  readonly secrets: readonly NamedSecret[] | undefined
  /** AUTH_SECRETS_FILE: re-read on SIGHUP */
  readonly secretsFile: string | undefined
  /** AUTH_JWKS_FILE: re-read on SIGHUP */
  readonly jwksFile: string | undefined
}

/** Reads the files of `sources` now. Throws KeySourceError naming the variable. */
export function readKeyMaterial(sources: KeySources): KeyMaterial {
  return Object.freeze({
    secret: sources.secret,
    secrets: sources.secretsFile !== undefined ? readSecretsFile(sources.secretsFile) : (sources.secrets ?? []),
    jwks: sources.jwksFile !== undefined ? readJwksFile(sources.jwksFile) : undefined,
  })
}
