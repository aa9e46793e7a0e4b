import { afterEach, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { exportJWK, generateKeyPair } from 'jose'
import { ConfigError, loadConfig } from '../../src/config.js'
import { tempDir, removeDir } from '../helpers/server.js'
import { S1, S2 } from './key-helpers.js'

/**
 * The key variables are checked at startup like every other: a bad value stops the server with a
 * message naming the variable, and never quoting a secret.
 */
const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d)
})

function dir(): string {
  const d = tempDir()
  dirs.push(d)
  return d
}

function file(name: string, content: string): string {
  const path = join(dir(), name)
  writeFileSync(path, content)
  return path
}

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ STORE: 'memory', ...env }, { editorDir: '' })
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error(`accepted ${JSON.stringify(env)}`)
}

describe('key configuration errors name the variable', () => {
  it('AUTH_SECRETS: not kid:secret, bad kid, empty secret, duplicate kid, short secret', () => {
    const cases = [
      'nocolon',
      `k1:${S1},oops`,
      'k1:',
      `:${S1}`,
      `k 1:${S1}`,
      `k1/x:${S1}`,
      `k1:${S1},k1:${S2}`,
      'k1:short-secret',
      ' , ',
    ]
    for (const value of cases) {
      const err = configError({ AUTH_SECRETS: value })
      expect(err.variable, value).toBe('AUTH_SECRETS')
      for (const secret of [S1, S2, 'short-secret']) expect(err.message).not.toContain(secret)
    }
  })

  it('AUTH_SECRETS_FILE: unreadable, empty, malformed, or set together with AUTH_SECRETS', () => {
    expect(configError({ AUTH_SECRETS_FILE: join(dir(), 'missing') }).variable).toBe('AUTH_SECRETS_FILE')
    expect(configError({ AUTH_SECRETS_FILE: file('s', '# only a comment\n\n') }).variable).toBe('AUTH_SECRETS_FILE')
    expect(configError({ AUTH_SECRETS_FILE: file('s', `k1:${S1}\nk2 ${S2}\n`) }).message).toMatch(/AUTH_SECRETS_FILE: entry 2/)
    expect(configError({ AUTH_SECRETS: `k1:${S1}`, AUTH_SECRETS_FILE: file('s', `k2:${S2}`) }).variable).toBe('AUTH_SECRETS_FILE')
  })

  it('AUTH_JWKS_FILE: not JSON, no keys, a private key, a symmetric key, a bad key', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true })
    const bad = [
      'not json',
      '{"keys": []}',
      '[]',
      JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)), kid: 'leaked' }] }),
      JSON.stringify({ keys: [{ kty: 'oct', k: Buffer.from(S1).toString('base64url') }] }),
      JSON.stringify({ keys: [{ kty: 'RSA' }, 'x'] }),
    ]
    for (const content of bad) {
      const err = configError({ AUTH_JWKS_FILE: file('jwks.json', content) })
      expect(err.variable, content).toBe('AUTH_JWKS_FILE')
      expect(err.message).not.toContain(Buffer.from(S1).toString('base64url'))
    }
    expect(configError({ AUTH_JWKS_FILE: join(dir(), 'missing.json') }).variable).toBe('AUTH_JWKS_FILE')
  })

  it('AUTH_JWKS_URL: https only (http for loopback), not together with a file; issuer/audience need a JWKS; numbers in range', () => {
    expect(configError({ AUTH_JWKS_URL: 'http://idp.example/jwks.json' }).variable).toBe('AUTH_JWKS_URL')
    expect(configError({ AUTH_JWKS_URL: 'ftp://idp.example/jwks.json' }).variable).toBe('AUTH_JWKS_URL')
    expect(configError({ AUTH_JWKS_URL: 'not a url' }).variable).toBe('AUTH_JWKS_URL')
    const jwks = file('jwks.json', JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }] }))
    expect(configError({ AUTH_JWKS_URL: 'https://idp.example/jwks.json', AUTH_JWKS_FILE: jwks }).variable).toBe('AUTH_JWKS_URL')
    expect(configError({ AUTH_SECRETS: `k1:${S1}`, AUTH_JWKS_ISSUER: 'https://idp.example' }).variable).toBe('AUTH_JWKS_ISSUER')
    expect(configError({ AUTH_JWKS_AUDIENCE: 'tandem' }).variable).toBe('AUTH_JWKS_AUDIENCE')
    expect(configError({ AUTH_JWKS_URL: 'https://idp.example/j', AUTH_JWKS_TIMEOUT_MS: '5' }).variable).toBe('AUTH_JWKS_TIMEOUT_MS')
    // Checked even on an open server: a typo must not wait for the day auth is turned on.
    expect(configError({ MAX_REVOCATIONS: '0' }).variable).toBe('MAX_REVOCATIONS')
    expect(configError({ REVOCATION_TTL_SECONDS: 'a week' }).variable).toBe('REVOCATION_TTL_SECONDS')

    const ok = (env: Record<string, string>) => loadConfig({ STORE: 'memory', ...env }, { editorDir: '' })
    expect(ok({ AUTH_JWKS_URL: 'http://127.0.0.1:8080/jwks.json' }).auth?.jwksUrl).toBe('http://127.0.0.1:8080/jwks.json')
    expect(ok({ AUTH_JWKS_URL: 'http://localhost/jwks.json' }).auth).toBeDefined()
    expect(ok({ AUTH_JWKS_FILE: jwks }).auth?.initial.jwks?.keys).toHaveLength(1)
    expect(ok({ AUTH_SECRETS: `k1:${S1}` }).auth?.maxRevocations).toBe(10_000)
    expect(ok({}).auth).toBeUndefined()
  })
})

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url))

describe('the built server', () => {
  it('a malformed AUTH_SECRETS stops it at startup (exit 2) with a message naming the variable, not the secret', async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [MAIN], {
        env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', DATA_DIR: dir(), AUTH_SECRETS: `k1:${S1},k2` },
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => {
        stdout += d
        if (stdout.includes('listening on')) child.kill('SIGTERM')
      })
      child.stderr.on('data', (d) => (stderr += d))
      child.on('close', (code) => resolve({ code, stdout, stderr }))
    })
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/invalid configuration: AUTH_SECRETS: entry 2 is not kid:secret/)
    expect(r.stderr).not.toContain(S1)
  })
})
