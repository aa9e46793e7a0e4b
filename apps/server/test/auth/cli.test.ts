import { afterEach, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import * as Y from 'yjs'
import { decodeJwt } from 'jose'
import { MessageType, readFrame, writeSyncStep1, writeSyncUpdate } from '@tandem/sync'
import { startServer, type RunningServer } from '../helpers/server.js'
import { closeOf, upgradeStatus } from '../helpers/clients.js'
import { SECRET, recordingSocket, withToken } from '../helpers/auth.js'

/**
 * `pnpm token --room x --access read --ttl 1h [--sub name]`: prints, on stdout alone, a token
 * the server accepts with exactly the access asked for. Runs the CLI's source as a process.
 */
const CLI = fileURLToPath(new URL('../../src/cli/token.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../../../..', import.meta.url))

function cli(args: string[], env: Record<string, string> = { AUTH_SECRET: SECRET }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

async function server(): Promise<RunningServer> {
  const s = await startServer({ AUTH_SECRET: SECRET })
  cleanup.push(() => s.close())
  return s
}

describe('token CLI', () => {
  it('prints one JWT with the requested claims and nothing else on stdout', async () => {
    const before = Math.floor(Date.now() / 1000)
    const r = await cli(['--room', 'notes', '--access', 'read', '--ttl', '1h', '--sub', 'alice'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/)
    const claims = decodeJwt(r.stdout.trim())
    expect(claims).toMatchObject({ room: 'notes', access: 'read', sub: 'alice' })
    expect(claims.exp! - claims.iat!).toBe(3600)
    expect(claims.iat).toBeGreaterThanOrEqual(before)
    expect(r.stderr).toBe('')
  })

  it('a write token it prints opens the room; the server refuses it for another room', async () => {
    const s = await server()
    const t = (await cli(['--room', 'notes', '--access', 'write', '--ttl', '90s'])).stdout.trim()
    expect(decodeJwt(t).exp! - decodeJwt(t).iat!).toBe(90)
    expect(await upgradeStatus(withToken(s.wsUrl, 'notes', t))).toBe(101)
    expect(await upgradeStatus(withToken(s.wsUrl, 'other', t))).toBe(403)
    const star = (await cli(['--room', '*', '--access', 'write'])).stdout.trim()
    expect(await upgradeStatus(withToken(s.wsUrl, 'any-room', star))).toBe(101)
  })

  it('a read token it prints is accepted as read-only: the server refuses its updates', async () => {
    const s = await server()
    const t = (await cli(['--room', 'notes', '--access', 'read'])).stdout.trim()
    const sock = await recordingSocket(withToken(s.wsUrl, 'notes', t))
    cleanup.push(() => sock.ws.terminate())
    await sock.next((f) => f[0] === MessageType.Sync)
    const d = new Y.Doc()
    d.getText('t').insert(0, 'nope')
    sock.ws.send(writeSyncUpdate(Y.encodeStateAsUpdate(d)))
    sock.ws.send(writeSyncStep1(new Y.Doc()))
    await sock.next((f) => readFrame(f).type === 'sync-step2')
    expect(sock.frames.some((f) => readFrame(f).type === 'auth-denied')).toBe(true)
    const closed = closeOf(sock.ws)
    sock.ws.send(writeSyncUpdate(Y.encodeStateAsUpdate(d)))
    expect((await closed).code).toBe(1008)
  })

  it('signed with another secret, its token is refused with 401', async () => {
    const s = await server()
    const t = (await cli(['--room', 'notes', '--access', 'write'], { AUTH_SECRET: 'a-different-secret-0123456789abcdef-xyz' })).stdout.trim()
    expect(await upgradeStatus(withToken(s.wsUrl, 'notes', t))).toBe(401)
  })

  it('exits 2 with a message on stderr (and nothing on stdout) for bad usage or no AUTH_SECRET', async () => {
    for (const [args, env, message] of [
      [['--access', 'read'], undefined, /--room is required/],
      [['--room', 'x', '--access', 'admin'], undefined, /--access must be write or read/],
      [['--room', 'x', '--access', 'read', '--ttl', 'forever'], undefined, /--ttl/],
      [['--room', 'x', '--access', 'read', '--ttl', '0'], undefined, /--ttl/],
      [['--room', 'x', '--access', 'read', '--bogus'], undefined, /--bogus/],
      [['--room', 'x', '--access', 'read'], {}, /AUTH_SECRET/],
    ] as const) {
      const r = await cli([...args], env ? { ...env } : undefined)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stdout).toBe('')
      expect(r.stderr).toMatch(message)
    }
  })

  it('warns (on stderr) about a secret too short for HS256, and still prints the token', async () => {
    const r = await cli(['--room', 'x', '--access', 'read'], { AUTH_SECRET: 'short' })
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/shorter than 32 bytes/)
    expect(r.stdout.trim().split('.')).toHaveLength(3)
  })
})
