import { fileURLToPath } from 'node:url'
import { ESLint } from 'eslint'
import tseslint from 'typescript-eslint'
import { describe, expect, it } from 'vitest'

/**
 * The import boundaries of eslint.config.js, checked against the real config and the real layout
 * of packages/sync (src/protocol/: the wire protocol, '@tandem/sync'; src/provider/: the client,
 * '@tandem/sync/provider'): the server uses the protocol and never the client, by name or by
 * path, and the protocol never imports the client. Each probe names the rule that must report it,
 * so a zone removed from the config fails here.
 */
const root = fileURLToPath(new URL('../..', import.meta.url))
const BOUNDARY_RULES = new Set(['import-x/no-restricted-paths', 'no-restricted-imports'])

const eslint = new ESLint({
  cwd: root,
  // The probes below are not files on disk, so no tsconfig can include them: syntax only.
  overrideConfig: [{ files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked, languageOptions: { parserOptions: { projectService: false, project: null } } }],
  ruleFilter: ({ ruleId }) => BOUNDARY_RULES.has(ruleId),
})

/** `rule: message` of every boundary finding in `code`, linted as if it were the file at `filePath`. */
async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${filePath}` })
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`)
}

const pathRule = (message: RegExp) => expect.stringMatching(new RegExp(`^import-x/no-restricted-paths: .*${message.source}`)) as string
const specifierRule = (message: RegExp) => expect.stringMatching(new RegExp(`^no-restricted-imports: .*${message.source}`)) as string

describe('import boundaries: the server and the client', () => {
  it('the server may import the protocol', async () => {
    expect(await boundaryErrors('apps/server/src/probe.ts', "import { CloseCode } from '@tandem/sync'\nexport const c = CloseCode")).toEqual([])
  })

  it('the server may not import the client by name (which resolves to packages/sync/src/provider/)', async () => {
    const errors = await boundaryErrors('apps/server/src/net/probe.ts', "import { SyncProvider } from '@tandem/sync/provider'\nexport const p = SyncProvider")
    expect(errors).toEqual(expect.arrayContaining([specifierRule(/never the client/), pathRule(/never the client/)]))
  })

  it('the server may not import any module of the client by path, however deep', async () => {
    for (const [probe, specifier] of [
      ['apps/server/src/probe.ts', '../../../packages/sync/src/provider/index.js'],
      ['apps/server/src/probe.ts', '../../../packages/sync/src/provider/provider.js'],
      ['apps/server/src/net/probe.ts', '../../../../packages/sync/src/provider/backoff.js'],
      ['apps/server/src/net/probe.ts', '../../../../packages/sync/src/provider/saved-tracker.js'],
    ] as const) {
      const errors = await boundaryErrors(probe, `import * as client from '${specifier}'\nexport const c = client`)
      expect(errors, specifier).toEqual(expect.arrayContaining([pathRule(/never the client/), specifierRule(/by name/)]))
    }
  })

  it('the server may not import the client for its types either', async () => {
    const errors = await boundaryErrors('apps/server/src/probe.ts', "import type { SyncProviderOptions } from '../../../packages/sync/src/provider/types.js'\nexport type O = SyncProviderOptions")
    expect(errors).toEqual(expect.arrayContaining([pathRule(/never the client/)]))
  })

  it('the server may not import the editor', async () => {
    const errors = await boundaryErrors('apps/server/src/probe.ts', "import { mountEditor } from '@tandem/editor'\nexport const m = mountEditor")
    expect(errors).toEqual(expect.arrayContaining([specifierRule(/editor/), pathRule(/editor/)]))
  })

  it('the editor may import both the protocol and the client', async () => {
    const code = "import { CloseCode } from '@tandem/sync'\nimport { SyncProvider } from '@tandem/sync/provider'\nexport const x = [CloseCode, SyncProvider]"
    expect(await boundaryErrors('apps/editor/src/probe.ts', code)).toEqual([])
  })

  it('server tests may drive the server with the client', async () => {
    expect(await boundaryErrors('apps/server/test/probe.test.ts', "import { SyncProvider } from '@tandem/sync/provider'\nexport const p = SyncProvider")).toEqual([])
  })
})

describe('import boundaries: inside @tandem/sync', () => {
  it('the protocol never imports the client', async () => {
    for (const [probe, specifier] of [
      ['packages/sync/src/protocol/probe.ts', '../provider/provider.js'],
      ['packages/sync/src/protocol/probe.ts', '../provider/link.js'],
      ['packages/sync/src/protocol/probe.ts', '../provider/testing/fake-socket.js'],
    ] as const) {
      const errors = await boundaryErrors(probe, `import * as client from '${specifier}'\nexport const c = client`)
      expect(errors, specifier).toEqual([pathRule(/never imports the client/)])
    }
  })

  it('the protocol never imports the client for its types either', async () => {
    const errors = await boundaryErrors('packages/sync/src/protocol/probe.ts', "import type { StatusEvent } from '../provider/types.js'\nexport type S = StatusEvent")
    expect(errors).toEqual([pathRule(/never imports the client/)])
  })

  it('the client may import the protocol', async () => {
    const code = "import { CloseCode } from '../protocol/errors.js'\nimport { readFrame } from '../protocol/frame.js'\nexport const x = [CloseCode, readFrame]"
    expect(await boundaryErrors('packages/sync/src/provider/probe.ts', code)).toEqual([])
  })

  it('@tandem/sync imports no app', async () => {
    for (const probe of ['packages/sync/src/protocol/probe.ts', 'packages/sync/src/provider/probe.ts']) {
      const errors = await boundaryErrors(probe, "import { createServer } from '../../../../apps/server/src/server.js'\nexport const s = createServer")
      expect(errors, probe).toEqual([pathRule(/imports no app/)])
    }
  })
})
