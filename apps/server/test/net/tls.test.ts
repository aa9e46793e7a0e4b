import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { get as httpsGet } from 'node:https'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { SyncProvider } from '@tandem/sync/provider'
import { ConfigError, loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/log.js'
import { createBackends } from '../../src/backends.js'
import { createTandemServer } from '../../src/server.js'
import { httpsServerFactory } from '../../src/net/tls.js'
import { removeDir, tempDir } from '../helpers/server.js'
import { upgradeStatus } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { SECRET, runMainExpectingExit, spawnMain, token, withToken } from '../helpers/auth.js'
import { requireTool } from '../helpers/tools.js'

/**
 * wss:// directly: TLS_CERT + TLS_KEY (PEM paths) make the server listen with https; the
 * certificate is self-signed and made at test time with openssl. Clients VERIFY it (they are
 * given it as their CA) rather than switching verification off.
 */
let dir: string
let cert: string
let key: string
let ca: Buffer
let openssl: string

function selfSigned(name: string): { cert: string; key: string } {
  const c = join(dir, `${name}-cert.pem`)
  const k = join(dir, `${name}-key.pem`)
  execFileSync(openssl, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', k, '-out', c, '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'pipe' })
  return { cert: c, key: k }
}

beforeAll(() => {
  openssl = requireTool('openssl')
  dir = tempDir('tandem-tls-')
  ;({ cert, key } = selfSigned('server'))
  ca = readFileSync(cert)
})
afterAll(() => removeDir(dir))

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!()
})

/** The server as main.ts composes it with TLS, in this process. */
async function tlsServer(env: Record<string, string> = {}) {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', DATA_DIR: tempDir(), TLS_CERT: cert, TLS_KEY: key, ...env }, { editorDir: '' })
  const log = createLogger(config.logLevel)
  const { store, fanout } = await createBackends(config, log)
  const server = createTandemServer({ config, store, fanout, log, createServer: httpsServerFactory(config.tls!) })
  const { port } = await server.listen()
  cleanup.push(async () => {
    await server.close()
    await fanout.close()
    await store.close()
  })
  return { server, port, wss: `wss://127.0.0.1:${port}`, https: `https://127.0.0.1:${port}` }
}

/** A WebSocket class that trusts our test CA, for SyncProvider (which constructs sockets itself). */
const TrustingWebSocket = class extends WebSocket {
  constructor(url: string) {
    super(url, { ca })
  }
}

function httpsStatus(url: string, options: { ca?: Buffer } = { ca }): Promise<number> {
  return new Promise((resolve, reject) => {
    httpsGet(url, options, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    }).once('error', reject)
  })
}

describe('TLS (TLS_CERT + TLS_KEY)', () => {
  it('serves https and wss: two SyncProviders converge over a verified TLS link', async () => {
    const s = await tlsServer()
    expect(await httpsStatus(`${s.https}/healthz`)).toBe(200)
    const a = new SyncProvider({ url: s.wss, room: 'secure', doc: new Y.Doc(), WebSocket: TrustingWebSocket })
    const b = new SyncProvider({ url: s.wss, room: 'secure', doc: new Y.Doc(), WebSocket: TrustingWebSocket })
    cleanup.push(() => a.destroy(), () => b.destroy())
    await until(() => a.synced && b.synced, 'synced over wss')
    a.doc.getText('t').insert(0, 'over TLS')
    await until(() => b.doc.getText('t').toString() === 'over TLS', 'edit relayed over wss')
  })

  it('plaintext ws:// and clients that do not trust the certificate get no socket', async () => {
    const s = await tlsServer()
    await expect(upgradeStatus(`ws://127.0.0.1:${s.port}/secure`)).rejects.toThrow()
    await expect(upgradeStatus(`${s.wss}/secure`)).rejects.toThrow(/self[- ]signed|certificate/i)
    await expect(httpsStatus(`${s.https}/healthz`, {})).rejects.toThrow(/self[- ]signed|certificate/i)
    expect(s.server.connectionCount).toBe(0)
  })

  it('token rules are the same over TLS', async () => {
    const s = await tlsServer({ AUTH_SECRET: SECRET })
    expect(await upgradeStatus(withToken(s.wss, 'doc'), { ca })).toBe(401)
    expect(await upgradeStatus(withToken(s.wss, 'doc', await token({ room: 'other' })), { ca })).toBe(403)
    expect(await upgradeStatus(withToken(s.wss, 'doc', await token()), { ca })).toBe(101)
  })

  it('main.ts: the ready line says https:// and the server answers wss://', async () => {
    const srv = await spawnMain({ TLS_CERT: cert, TLS_KEY: key, DATA_DIR: tempDir() })
    cleanup.push(() => srv.stop())
    expect(srv.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect(await upgradeStatus(`wss://127.0.0.1:${srv.port}/doc`, { ca })).toBe(101)
  })
})

describe('TLS configuration errors name the variable', () => {
  it('TLS_CERT without TLS_KEY, and the reverse', () => {
    const base = { DATA_DIR: tempDir() }
    expect(() => loadConfig({ ...base, TLS_CERT: cert }, { editorDir: '' })).toThrow(ConfigError)
    expect(() => loadConfig({ ...base, TLS_CERT: cert }, { editorDir: '' })).toThrow(/^TLS_KEY/)
    expect(() => loadConfig({ ...base, TLS_KEY: key }, { editorDir: '' })).toThrow(/^TLS_CERT/)
  })

  it('unreadable files, non-PEM content, and a key that does not belong to the certificate', () => {
    const other = selfSigned('other')
    const junk = join(dir, 'junk.pem')
    writeFileSync(junk, 'not a pem\n')
    const check = (certFile: string, keyFile: string) => () => httpsServerFactory({ certFile, keyFile })
    expect(check(join(dir, 'missing.pem'), key)).toThrow(/^TLS_CERT: .*ENOENT/)
    expect(check(cert, join(dir, 'missing.pem'))).toThrow(/^TLS_KEY: .*ENOENT/)
    expect(check(junk, key)).toThrow(/^TLS_CERT: .*not a PEM certificate/)
    expect(check(cert, junk)).toThrow(/^TLS_KEY: .*not a PEM private key/)
    expect(check(cert, other.key)).toThrow(/^TLS_KEY: .*does not belong/)
    expect(check(cert, key)).not.toThrow()
  })

  it('main.ts exits 2 with the message instead of starting', async () => {
    const other = selfSigned('mismatch')
    const r = await runMainExpectingExit({ TLS_CERT: cert, TLS_KEY: other.key, DATA_DIR: tempDir() })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/invalid configuration: TLS_KEY: .*does not belong/)
    const half = await runMainExpectingExit({ TLS_CERT: cert, DATA_DIR: tempDir() })
    expect(half.code).toBe(2)
    expect(half.stderr).toMatch(/TLS_KEY/)
  })
})
