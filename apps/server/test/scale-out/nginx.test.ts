import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, Socket, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { SyncProvider } from '@tandem/sync/provider'
import type { ChildServer } from '../helpers/server.js'
import { text } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { createCluster, requirePostgres, requireRedis } from '../helpers/services.js'
import { requireTool } from '../helpers/tools.js'

/**
 * docs/deployment.md's nginx configuration, run for real: the ```nginx block is extracted from the
 * doc (so the doc cannot drift from what is tested), pointed at two built servers sharing one
 * PostgreSQL schema and Redis prefix, and checked for room affinity, convergence and failover.
 * The nginx binary: NGINX_PATH (`pnpm test` finds or installs one first), else a system nginx.
 */

const DOC = fileURLToPath(new URL('../../../../docs/deployment.md', import.meta.url))

let pgUrl = ''
let redisUrl = ''
let nginxBin = ''
beforeAll(async () => {
  nginxBin = requireTool('nginx')
  pgUrl = await requirePostgres()
  redisUrl = await requireRedis()
})

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => {})
})

/** The ```nginx block of docs/deployment.md with our upstreams and listen address substituted. */
function configFromDoc(upstreams: number[], listenPort: number): string {
  const doc = readFileSync(DOC, 'utf8')
  const m = /```nginx\n([\s\S]*?)```/.exec(doc)
  if (!m) throw new Error('docs/deployment.md has no ```nginx block')
  const lines = m[1]!.split('\n')
  const upstreamLine = /^\s*server \d+\.\d+\.\d+\.\d+:\d+( [^;]*)?;\s*$/
  const at = lines.map((l, i) => (upstreamLine.test(l) ? i : -1)).filter((i) => i >= 0)
  if (at.length < 2) throw new Error("the doc's upstream block has no `server host:port …;` lines")
  const options = upstreamLine.exec(lines[at[0]!]!)![1] ?? ''
  const ours = upstreams.map((p) => `    server 127.0.0.1:${p}${options};`)
  const conf = lines.flatMap((l, i) => (i === at[0] ? ours : at.includes(i) ? [] : [l])).join('\n')
  if (!/^\s*listen 80;/m.test(conf)) throw new Error('the doc\'s server block no longer says `listen 80;`')
  return conf.replace(/^(\s*)listen 80;/m, `$1listen 127.0.0.1:${listenPort};`)
}

async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const { port } = srv.address() as AddressInfo
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = new Socket()
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
    s.connect(port, '127.0.0.1')
  })

interface Nginx {
  port: number
  /** access log lines: "<upstream_addr> <status> <request_uri>" */
  accessLog(): string[]
}

async function startNginx(upstreams: number[]): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-nginx-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  // The port is picked free, then handed to nginx: retry in the rare case it is taken meanwhile.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const conf = `
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 1024; }
http {
  log_format upstreams '$upstream_addr $status $request_uri';
  access_log ${dir}/access.log upstreams;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${configFromDoc(upstreams, port)}
}
`
    writeFileSync(join(dir, 'nginx.conf'), conf)
    const check = spawnSync(nginxBin, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { encoding: 'utf8' })
    if (check.status !== 0) throw new Error(`nginx -t rejected the configuration from docs/deployment.md:\n${check.stderr}\n${conf}`)
    const child: ChildProcess = spawn(nginxBin, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: 'ignore' })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await exited
      }
    })
    const up = await Promise.race([until(() => canConnect(port), 'nginx listening', 10_000).then(() => true), exited.then(() => false)])
    if (up) {
      return {
        port,
        accessLog: () => (existsSync(join(dir, 'access.log')) ? readFileSync(join(dir, 'access.log'), 'utf8').trim().split('\n').filter(Boolean) : []),
      }
    }
    const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''
    if (attempt >= 3 || !/Address already in use/.test(log)) throw new Error(`nginx did not start:\n${log}`)
  }
}

function client(url: string, room: string, user: string) {
  const doc = new Y.Doc()
  const provider = new SyncProvider({
    url,
    room,
    doc,
    WebSocket,
    // A different query string per user, as ?token= would be: affinity must ignore it.
    params: { user },
    initialBackoffMs: 50,
    maxBackoffMs: 500,
  })
  cleanups.push(() => provider.destroy())
  return { doc, provider, insert: (s: string) => doc.getText('t').insert(doc.getText('t').length, s) }
}

const health = async (s: ChildServer) => (await (await fetch(`${s.url}/healthz`)).json()) as { rooms: number; connections: number }

describe('nginx in front of two servers (docs/deployment.md)', () => {
  it('room affinity: every connection of a room reaches one server; rooms spread; edits converge; failover', async () => {
    const cluster = await createCluster({ pg: pgUrl, redis: redisUrl }, cleanups)
    const [s1, s2] = await Promise.all([cluster.start({ TRUST_PROXY: '1' }), cluster.start({ TRUST_PROXY: '1' })])
    const nginx = await startNginx([s1.port, s2.port])
    const lb = `ws://127.0.0.1:${nginx.port}`

    const rooms = Array.from({ length: 16 }, (_, i) => `room-${i} ☕`)
    // Room by room, so each server's connection count tells where a room's clients landed
    // (nginx logs a WebSocket only when it closes).
    const owner = new Map<string, ChildServer>()
    const clients: ReturnType<typeof client>[] = []
    let before = await Promise.all([health(s1), health(s2)])
    for (const [i, room] of rooms.entries()) {
      // Two users, each with its own query string (as ?token= would be): affinity must ignore it.
      const pair = [client(lb, room, `u${i}a`), client(lb, room, `u${i}b`)]
      clients.push(...pair)
      await until(() => pair.every((c) => c.provider.synced), `${room} synced through nginx`)
      const after = await Promise.all([health(s1), health(s2)])
      const gained = after.map((h, k) => h.connections - before[k]!.connections)
      expect(gained.sort(), `${room}: both connections on one server`).toEqual([0, 2])
      owner.set(room, after[0].connections - before[0].connections === 2 ? s1 : s2)
      before = after
    }
    // Each room is loaded on exactly one server, and the rooms spread over both
    // (all 16 on one server: probability 2^-15).
    const [h1, h2] = await Promise.all([health(s1), health(s2)])
    expect(h1.rooms + h2.rooms).toBe(rooms.length)
    expect(h1.rooms).toBeGreaterThan(0)
    expect(h2.rooms).toBeGreaterThan(0)

    // The HTTP API of a room goes where its WebSockets go.
    for (const room of rooms) {
      const res = await fetch(`http://127.0.0.1:${nginx.port}/api/rooms/${encodeURIComponent(room)}/state?user=api`)
      expect(res.status).toBe(200)
    }
    await until(() => nginx.accessLog().filter((l) => l.includes('/api/rooms/')).length === rooms.length, 'API requests logged')
    for (const room of rooms) {
      const line = nginx.accessLog().find((l) => l.includes(`/api/rooms/${encodeURIComponent(room)}/state`))!
      expect(line.split(' ')[0], room).toBe(`127.0.0.1:${owner.get(room)!.port}`)
    }

    // Edits converge within every room.
    clients.forEach((c, i) => c.insert(`<${i}>`))
    await until(
      () => rooms.every((_, r) => text(clients[2 * r]!.doc).length > 0 && text(clients[2 * r]!.doc) === text(clients[2 * r + 1]!.doc) && text(clients[2 * r]!.doc).length === `<${2 * r}><${2 * r + 1}>`.length),
      'every room converged',
    )

    // Failover: kill -9 the server holding room 0; its clients come back through nginx on the other.
    const victim = owner.get(rooms[0]!)!
    const survivor = victim === s1 ? s2 : s1
    victim.child.kill('SIGKILL')
    await victim.exited
    const [a, b] = [clients[0]!, clients[1]!]
    await until(() => !a.provider.synced, 'room 0 clients noticed')
    await until(() => a.provider.synced && b.provider.synced, 'room 0 clients back through nginx', 20_000)
    a.insert('after failover;')
    await until(() => text(b.doc).endsWith('after failover;') || text(b.doc).includes('after failover;'), 'edit after failover reaches the other client')
    expect(text(a.doc)).toBe(text(b.doc))
    expect(text(a.doc)).toContain('<0>')
    expect(text(a.doc)).toContain('<1>')
    await until(async () => (await health(survivor)).rooms === rooms.length, 'every room now on the survivor', 20_000)
  })

  it('the HTTP transport through nginx: every request of a session reaches one server, the one its room hashes to', async () => {
    const cluster = await createCluster({ pg: pgUrl, redis: redisUrl }, cleanups)
    const [s1, s2] = await Promise.all([cluster.start({ TRUST_PROXY: '1' }), cluster.start({ TRUST_PROXY: '1' })])
    const nginx = await startNginx([s1.port, s2.port])
    const lb = `ws://127.0.0.1:${nginx.port}`
    for (const [i, room] of ['http a', 'http ☕ b', 'http-c'].entries()) {
      const before = await Promise.all([health(s1), health(s2)])
      const ws = client(lb, room, `ws${i}`)
      const doc = new Y.Doc()
      const http = new SyncProvider({ url: lb, room, doc, WebSocket, transport: 'http', params: { user: `http${i}` }, initialBackoffMs: 50, maxBackoffMs: 500 })
      cleanups.push(() => http.destroy())
      await until(() => ws.provider.synced && http.synced, `${room}: both synced through nginx`)
      const after = await Promise.all([health(s1), health(s2)])
      expect(after.map((h, k) => h.connections - before[k]!.connections).sort(), `${room}: HTTP and WebSocket clients on one server`).toEqual([0, 2])
      doc.getText('t').insert(0, `over http ${i}`)
      await until(() => text(ws.doc) === `over http ${i}`, `${room}: edit over http arrives`)
      ws.insert('!')
      await until(() => text(doc) === `over http ${i}!`, `${room}: edit over ws arrives`)
    }
  })
})
