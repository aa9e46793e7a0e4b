import { afterEach, describe, expect, it } from 'vitest'
import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as Y from 'yjs'
import { MessageType, readFrame, writeSyncStep1 } from '@tandem/sync'
import { spawnServer, tempDir, removeDir, type ChildServer } from '../helpers/server.js'
import { upgradeStatus } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import { recordingSocket, withToken } from '../helpers/auth.js'
import { S1, S2, asymToken, hsToken, jwksOf, testKey } from './key-helpers.js'

/**
 * Key rotation without downtime: the BUILT server (what `pnpm serve` runs) re-reads
 * AUTH_SECRETS_FILE and AUTH_JWKS_FILE on SIGHUP. New handshakes use the new keys; connections
 * admitted with a key that is gone stay open (until their exp or a revocation). A bad file on
 * reload keeps the previous keys and logs an error; the process never dies of it.
 */
const children: ChildServer[] = []
const dirs: string[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.child.kill('SIGKILL')
  for (const d of dirs.splice(0)) removeDir(d)
})

/** Written whole, then renamed over the old file: what the docs tell operators to do. */
function replace(file: string, content: string): void {
  writeFileSync(`${file}.tmp`, content)
  renameSync(`${file}.tmp`, file)
}

/** Sends SIGHUP and waits for the n-th log line matching `pattern`. */
async function hup(s: ChildServer, pattern: RegExp, n: number): Promise<void> {
  s.child.kill('SIGHUP')
  await until(() => (s.stderr().match(new RegExp(pattern.source, 'g')) ?? []).length >= n, `log line ${pattern} #${n}`)
}

/** Proves a socket is still served: a sync step 1 gets its step 2 back. */
async function stillServed(sock: Awaited<ReturnType<typeof recordingSocket>>): Promise<void> {
  const before = sock.frames.length
  sock.ws.send(writeSyncStep1(new Y.Doc()))
  await sock.next((f) => sock.frames.indexOf(f) >= before && readFrame(f).type === 'sync-step2')
}

describe('SIGHUP reloads the key files', () => {
  it('rotates a secret and a JWKS key: connected clients stay, new handshakes use the new keys; a bad file keeps them', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const secrets = join(dir, 'secrets')
    const jwks = join(dir, 'jwks.json')
    const [rsaOld, rsaNew] = await Promise.all([testKey('RS256', 'rsa-old'), testKey('RS256', 'rsa-new')])
    replace(secrets, `# kid:secret, one a line\nk1:${S1}\n`)
    replace(jwks, JSON.stringify(jwksOf(rsaOld)))
    const s = await spawnServer({ DATA_DIR: dir, AUTH_SECRETS_FILE: secrets, AUTH_JWKS_FILE: jwks, LOG_LEVEL: 'info' })
    children.push(s)
    const status = (t: string) => upgradeStatus(withToken(s.wsUrl, 'doc', t))

    const viaK1 = await recordingSocket(withToken(s.wsUrl, 'doc', await hsToken(S1, { kid: 'k1' })))
    const viaRsaOld = await recordingSocket(withToken(s.wsUrl, 'doc', await asymToken(rsaOld)))
    await viaK1.next((f) => f[0] === MessageType.Sync)
    await viaRsaOld.next((f) => f[0] === MessageType.Sync)
    expect(await status(await hsToken(S2, { kid: 'k2' }))).toBe(401)
    expect(await status(await asymToken(rsaNew))).toBe(401)

    // Rotate: k2 and rsa-new in, k1 and rsa-old out.
    replace(secrets, `k2:${S2}\n`)
    replace(jwks, JSON.stringify(jwksOf(rsaNew)))
    await hup(s, /"msg":"auth keys reloaded"/, 1)
    expect(s.stderr()).toMatch(/"kids":\["k2"\]/)
    expect(await status(await hsToken(S2, { kid: 'k2' }))).toBe(101)
    expect(await status(await asymToken(rsaNew))).toBe(101)
    expect(await status(await hsToken(S1, { kid: 'k1' }))).toBe(401)
    expect(await status(await asymToken(rsaOld))).toBe(401)
    // Admitted with keys that are gone now, and still served.
    await stillServed(viaK1)
    await stillServed(viaRsaOld)

    // A broken file (half-written, wrong format): logged, the keys of the last good reload stay.
    replace(secrets, 'k3 without a colon\n')
    await hup(s, /"msg":"auth keys NOT reloaded; the previous keys stay in use"/, 1)
    expect(s.stderr()).toMatch(/"variable":"AUTH_SECRETS_FILE"/)
    replace(secrets, `k3:${S1}\n`)
    replace(jwks, '{"keys": [')
    await hup(s, /"msg":"auth keys NOT reloaded; the previous keys stay in use"/, 2)
    expect(s.stderr()).toMatch(/"variable":"AUTH_JWKS_FILE"/)
    expect(await status(await hsToken(S2, { kid: 'k2' }))).toBe(101)
    expect(await status(await hsToken(S1, { kid: 'k3' }))).toBe(401)
    expect(await status(await asymToken(rsaNew))).toBe(101)
    await stillServed(viaK1)
    expect(s.child.exitCode).toBeNull()
    // Secrets are never logged, whatever happened.
    for (const secret of [S1, S2]) expect(s.stderr()).not.toContain(secret)
    viaK1.ws.terminate()
    viaRsaOld.ws.terminate()
  })
})
