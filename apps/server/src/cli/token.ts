#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { SignJWT } from 'jose'
import { ConfigError, MIN_AUTH_SECRET_BYTES, loadAuthSecret } from '../config.js'

/**
 * Mints a token the server accepts, so an operator can try access control without writing code:
 *
 *   AUTH_SECRET=… pnpm token --room notes --access read --ttl 1h [--sub alice]
 *
 * Prints the JWT (and nothing else) on stdout; errors go to stderr with exit code 2.
 * The secret comes from the environment, never from argv (argv is visible in `ps`).
 */
const USAGE = `usage: pnpm token --room <room|*> --access <write|read> [--ttl <1h|30m|90s|7d|seconds>] [--sub <user id>]
  reads AUTH_SECRET from the environment; prints the token on stdout
  --room    the room the token opens ("*" = every room)
  --access  write: edit; read: view only (the server drops its document updates)
  --ttl     lifetime, default 1h
  --sub     user id recorded in the token, default "cli"`

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
  claims: { room: string; access: 'write' | 'read'; sub: string; ttlSeconds: number },
  nowMs = Date.now(),
): Promise<string> {
  const iat = Math.floor(nowMs / 1000)
  return new SignJWT({ room: claims.room, access: claims.access })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
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
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  })
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const room = values.room
  if (!room) throw new UsageError('--room is required')
  if (values.access !== 'write' && values.access !== 'read') throw new UsageError('--access must be write or read')
  if (!values.sub) throw new UsageError('--sub must not be empty')
  const ttlSeconds = parseTtl(values.ttl)
  const secret = loadAuthSecret(process.env)
  if (Buffer.byteLength(secret) < MIN_AUTH_SECRET_BYTES) {
    process.stderr.write(`warning: AUTH_SECRET is shorter than ${MIN_AUTH_SECRET_BYTES} bytes; use \`openssl rand -base64 32\`\n`)
  }
  const token = await mintToken(secret, { room, access: values.access, sub: values.sub, ttlSeconds })
  process.stdout.write(`${token}\n`)
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const known = err instanceof UsageError || err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
  process.stderr.write(`token: ${(err as Error).message}\n${known ? `${USAGE}\n` : ''}`)
  process.exit(2)
})
