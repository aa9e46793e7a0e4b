// WEBHOOK_* settings are checked at startup; a bad value names its variable (docs/conventions.md).
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.js'
import { removeDir, tempDir } from '../helpers/server.js'
import { WEBHOOK_SECRET } from './receiver.js'

const dir = tempDir()
afterAll(() => removeDir(dir))
const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: dir, ...env }, { editorDir: '' })

function refused(env: Record<string, string>): ConfigError {
  try {
    load(env)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error(`accepted ${JSON.stringify(env)}`)
}

describe('webhook configuration', () => {
  it('is off without WEBHOOK_URL, and parses one or more receivers with the defaults', () => {
    expect(load({}).webhooks).toBeUndefined()
    const c = load({ WEBHOOK_URL: 'https://a.example/hook, http://127.0.0.1:9/x', WEBHOOK_SECRET })
    expect(c.webhooks).toMatchObject({
      urls: ['https://a.example/hook', 'http://127.0.0.1:9/x'],
      secret: WEBHOOK_SECRET,
      debounceMs: 2000,
      maxWaitMs: 10000,
      timeoutMs: 10000,
      maxAttempts: 12,
    })
  })

  it.each([
    [{ WEBHOOK_URL: 'ftp://a.example/x', WEBHOOK_SECRET }, 'WEBHOOK_URL'],
    [{ WEBHOOK_URL: 'https://a.example/x, not a url', WEBHOOK_SECRET }, 'WEBHOOK_URL'],
    [{ WEBHOOK_URL: 'https://user:pw@a.example/x', WEBHOOK_SECRET }, 'WEBHOOK_URL'],
    [{ WEBHOOK_URL: 'https://a.example/x', STORE: 'memory', WEBHOOK_SECRET }, 'WEBHOOK_URL'],
    [{ WEBHOOK_URL: 'https://a.example/x' }, 'WEBHOOK_SECRET'],
    [{ WEBHOOK_URL: 'https://a.example/x', WEBHOOK_SECRET: 'short' }, 'WEBHOOK_SECRET'],
    [{ WEBHOOK_SECRET }, 'WEBHOOK_SECRET'],
    [{ WEBHOOK_DEBOUNCE_MS: 'soon' }, 'WEBHOOK_DEBOUNCE_MS'],
    [{ WEBHOOK_DEBOUNCE_MS: '5000', WEBHOOK_MAX_WAIT_MS: '1000' }, 'WEBHOOK_MAX_WAIT_MS'],
    [{ WEBHOOK_TIMEOUT_MS: '5' }, 'WEBHOOK_TIMEOUT_MS'],
    [{ WEBHOOK_MAX_ATTEMPTS: '0' }, 'WEBHOOK_MAX_ATTEMPTS'],
  ])('%o is refused naming %s', (env, variable) => {
    const err = refused(env)
    expect(err.variable).toBe(variable)
    expect(err.message.startsWith(`${variable}: `)).toBe(true)
  })
})
