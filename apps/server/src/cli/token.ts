#!/usr/bin/env node
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { SignJWT } from 'jose'
import { ConfigError, MIN_AUTH_SECRET_BYTES, loadSigningSecret } from '../config.js'

/**
 * Mints a token the server accepts, so an operator can try access control without writing code:
 *
 *   AUTH_SECRET=… pnpm token --room notes --access read --ttl 1h [--sub alice]
 *   AUTH_SECRETS=k2:… pnpm token --kid k2 --room notes --access write
 *   AUTH_SECRET=… pnpm token --admin --ttl 5m          (for POST /api/revocations)
 *
 * Every token gets a random `jti`, so it can be revoked alone.
 * Prints the JWT (and nothing else) on stdout; errors go to stderr with exit code 2.
 * The secret comes from the environment, never from argv (argv is visible in `ps`).
 */
const USAGE = `usage: pnpm token --room <room|*> --access <write|read> [--ttl <1h|30m|90s|7d|seconds>] [--sub <user id>] [--kid <kid>]
       pnpm token --admin [--ttl …] [--sub …] [--kid …]
  reads AUTH_SECRET (or, with --kid, AUTH_SECRETS / AUTH_SECRETS_FILE) from the environment;
  prints the token on stdout
  --room    the room the token opens ("*" = every room)
  --access  write: edit; read: view only (the server drops its document updates)
  --ttl     lifetime, default 1h
  --sub     user id recorded in the token, default "cli"
  --kid     sign with the AUTH_SECRETS entry of that kid (header "kid"); default: AUTH_SECRET, no kid
  --admin   an admin token (claim admin: true) for POST /api/revocations; --room/--access optional`

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** "1h" → 3600; plain digits are seconds. */
function parseTtl(raw: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(raw.trim())
  const seconds = m ? Number(m[1]) * UNITS[m[2] || 's']! : NaN
  if (!Number.isSafeInteger(seconds) || seconds <= 0) throw new UsageError(`--ttl: expected e.g. 90s, 30m, 1h or 7d, got ${JSON.stringify(raw)}`)
  return seconds
}

class UsageError extends Error {}

async function mintToken(
  secret: string,
  claims: { room?: string; access?: 'write' | 'read'; admin: boolean; sub: string; ttlSeconds: number; kid?: string },
  nowMs = Date.now(),
): Promise<string> {
  const iat = Math.floor(nowMs / 1000)
  const payload: Record<string, unknown> = {}
  if (claims.room !== undefined) payload.room = claims.room
  if (claims.access !== undefined) payload.access = claims.access
  if (claims.admin) payload.admin = true
  return new SignJWT(payload)
    .setProtectedHeader(claims.kid === undefined ? { alg: 'HS256', typ: 'JWT' } : { alg: 'HS256', typ: 'JWT', kid: claims.kid })
    .setSubject(claims.sub)
    .setJti(randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(iat + claims.ttlSeconds)
    .sign(new TextEncoder().encode(secret))
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      room: { type: 'string' },
      access: { type: 'string' },
      ttl: { type: 'string', default: '1h' },
      sub: { type: 'string', default: 'cli' },
      kid: { type: 'string' },
      admin: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  })
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const { room, access, kid } = values
  const admin = values.admin === true
  // An admin token need not open rooms; a room token needs both claims.
  if (!admin || room !== undefined || access !== undefined) {
    if (!room) throw new UsageError('--room is required')
    if (access !== 'write' && access !== 'read') throw new UsageError('--access must be write or read')
  }
  if (!values.sub) throw new UsageError('--sub must not be empty')
  if (kid === '') throw new UsageError('--kid must not be empty')
  const ttlSeconds = parseTtl(values.ttl)
  const secret = loadSigningSecret(process.env, kid)
  if (Buffer.byteLength(secret) < MIN_AUTH_SECRET_BYTES) {
    process.stderr.write(`warning: AUTH_SECRET is shorter than ${MIN_AUTH_SECRET_BYTES} bytes; use \`openssl rand -base64 32\`\n`)
  }
  const token = await mintToken(secret, { room, access, admin, sub: values.sub, ttlSeconds, kid })
  process.stdout.write(`${token}\n`)
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const known = err instanceof UsageError || err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
  process.stderr.write(`token: ${(err as Error).message}\n${known ? `${USAGE}\n` : ''}`)
  process.exit(2)
})
