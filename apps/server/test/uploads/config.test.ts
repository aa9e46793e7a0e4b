// MAX_UPLOAD_BYTES / MAX_ROOM_UPLOAD_BYTES are checked at startup; a bad value names its variable (docs/conventions.md).
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.js'
import { removeDir, tempDir } from '../helpers/server.js'

const dir = tempDir()
afterAll(() => removeDir(dir))
const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: dir, ...env }, { editorDir: '' })

describe('upload limits', () => {
  it('default to 5 MiB per image and 100 MiB per room', () => {
    expect(load({})).toMatchObject({ maxUploadBytes: 5 * 1024 * 1024, maxRoomUploadBytes: 100 * 1024 * 1024 })
    expect(load({ MAX_UPLOAD_BYTES: '2048', MAX_ROOM_UPLOAD_BYTES: '0' })).toMatchObject({ maxUploadBytes: 2048, maxRoomUploadBytes: 0 })
  })

  it.each([
    [{ MAX_UPLOAD_BYTES: 'lots' }, 'MAX_UPLOAD_BYTES'],
    [{ MAX_UPLOAD_BYTES: '10' }, 'MAX_UPLOAD_BYTES'],
    [{ MAX_ROOM_UPLOAD_BYTES: '-1' }, 'MAX_ROOM_UPLOAD_BYTES'],
    [{ MAX_UPLOAD_BYTES: '65536', MAX_ROOM_UPLOAD_BYTES: '4096' }, 'MAX_ROOM_UPLOAD_BYTES'],
  ])('%o is refused naming %s', (env, variable) => {
    let err: unknown
    try {
      load(env)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).variable).toBe(variable)
  })
})
