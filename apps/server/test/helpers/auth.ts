import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { SignJWT, generateKeyPair } from 'jose'
import WebSocket from 'ws'

/** Test helpers for access control: tokens good and bad, raw sockets that record frames, the server from source. */

/** 32+ bytes: the length RFC 7518 asks of an HS256 key. */
export const SECRET = 'test-secret-0123456789abcdef-0123456789abcdef'

export interface Claims {
  sub?: unknown
  room?: unknown
  access?: unknown
  /** seconds since the epoch; may be fractional; null = leave the claim out */
  exp?: number | null
  [extra: string]: unknown
}

const nowS = () => Date.now() / 1000

/** An HS256 token (or another HMAC alg) signed with `secret`; exp defaults to an hour from now. */
export function token(claims: Claims = {}, { secret = SECRET, alg = 'HS256' }: { secret?: string; alg?: string } = {}): Promise<string> {
  const { exp = Math.floor(nowS()) + 3600, ...rest } = claims
  const payload: Record<string, unknown> = { sub: 'alice', room: 'doc', access: 'write', ...rest }
  if (exp !== null) payload.exp = exp
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(new TextEncoder().encode(secret))
}

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')

/** An unsecured JWT: header alg "none", empty signature (RFC 7519 §6). */
export function noneToken(claims: Claims = {}): string {
  const payload = { sub: 'mallory', room: 'doc', access: 'write', exp: Math.floor(nowS()) + 3600, ...claims }
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`
}

/** A correctly signed RS256 token, from a key pair the server has never seen. */
export async function rs256Token(claims: Claims = {}): Promise<string> {
  const { privateKey } = await generateKeyPair('RS256')
  const payload: Record<string, unknown> = { sub: 'mallory', room: 'doc', access: 'write', exp: Math.floor(nowS()) + 3600, ...claims }
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256' }).sign(privateKey)
}

export const withToken = (base: string, room: string, t?: string) =>
  `${base}/${encodeURIComponent(room)}${t === undefined ? '' : `?token=${encodeURIComponent(t)}`}`

/** A socket that records every binary frame it receives; resolves once open. */
export async function recordingSocket(url: string, options: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(url, options)
  const frames: Uint8Array[] = []
  const listeners = new Set<() => void>()
  ws.on('message', (data: Buffer) => {
    frames.push(new Uint8Array(data))
    for (const l of listeners) l()
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return {
    ws,
    frames,
    /** resolves with the first frame (already received or future) matching `pred` */
    next(pred: (f: Uint8Array) => boolean, timeoutMs = 10_000): Promise<Uint8Array> {
      const seen = frames.find(pred)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check)
          reject(new Error('timed out waiting for a frame'))
        }, timeoutMs)
        const check = () => {
          const f = frames.find(pred)
          if (!f) return
          clearTimeout(timer)
          listeners.delete(check)
          resolve(f)
        }
        listeners.add(check)
      })
    },
  }
}

/** GET with optional headers; resolves with status and body bytes. */
export async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Uint8Array }> {
  const res = await fetch(url, { headers })
  return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) }
}

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
const MAIN_SRC = fileURLToPath(new URL('../../src/main.ts', import.meta.url))

export interface SourceServer {
  child: ChildProcess
  /** the ready line's URL, e.g. https://127.0.0.1:41234 */
  url: string
  port: number
  stderr(): string
  stop(): Promise<void>
}

/**
 * The real composition root (src/main.ts, run through tsx, so no build is needed) as a child
 * process: proves main.ts wires what the in-process tests exercise, and lets tests read its logs.
 */
export async function spawnMain(
  env: Record<string, string>,
  timeoutMs = 15_000,
  { maxOpenFiles }: { /** the server's file descriptor limit (`ulimit -n`), to show what running out does */ maxOpenFiles?: number } = {},
): Promise<SourceServer> {
  const args = ['--import', 'tsx', '--conditions=source', MAIN_SRC]
  // Through sh only for the limit: exec keeps the pid, so kill() still reaches the server.
  const [command, argv] =
    maxOpenFiles === undefined
      ? [process.execPath, args]
      : ['/bin/sh', ['-c', `ulimit -n ${maxOpenFiles} && exec "$0" "$@"`, process.execPath, ...args]]
  const child = spawn(command, argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within ${timeoutMs} ms; stderr:\n${stderr}`)), timeoutMs)
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
      const m = /listening on (https?:\/\/\S+)/.exec(stdout)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited (${code}) before ready; stderr:\n${stderr}`))
    })
  })
  return {
    child,
    url,
    port: Number(new URL(url).port),
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}

/** Runs main.ts with `env` and resolves with its exit code and stderr (for configurations that must not start). */
export function runMainExpectingExit(env: Record<string, string>, timeoutMs = 15_000): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', MAIN_SRC], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`server did not exit within ${timeoutMs} ms (it should refuse this configuration); stderr:\n${stderr}`))
    }, timeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stderr })
    })
  })
}
