import { fileURLToPath } from 'node:url'
import { ESLint } from 'eslint'
import tseslint from 'typescript-eslint'
import { describe, expect, it } from 'vitest'

/**
 * The import boundaries of eslint.config.js, checked against the real config: the server uses
 * the protocol (@tandem/sync) and never the client (@tandem/sync/provider), by name or by path.
 */
const root = fileURLToPath(new URL('../..', import.meta.url))
const BOUNDARY_RULES = new Set(['import-x/no-restricted-paths', 'no-restricted-imports'])

const eslint = new ESLint({
  cwd: root,
  // The probes below are not files on disk, so no tsconfig can include them: syntax only.
  overrideConfig: [{ files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked, languageOptions: { parserOptions: { projectService: false, project: null } } }],
  ruleFilter: ({ ruleId }) => BOUNDARY_RULES.has(ruleId),
})

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${filePath}` })
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`)
}

describe('import boundaries', () => {
  it('the server may import the protocol', async () => {
    expect(await boundaryErrors('apps/server/src/probe.ts', "import { CloseCode } from '@tandem/sync'\nexport const c = CloseCode")).toEqual([])
  })

  it('the server may not import the client by name', async () => {
    const errors = await boundaryErrors('apps/server/src/net/probe.ts', "import { SyncProvider } from '@tandem/sync/provider'\nexport const p = SyncProvider")
    // (import-x/no-restricted-paths reports it too once @tandem/sync/provider exists)
    expect(errors).toEqual(expect.arrayContaining([expect.stringMatching(/^no-restricted-imports: .*never the client/)]))
  })

  it('the server may not import the client by path', async () => {
    const errors = await boundaryErrors('apps/server/src/probe.ts', "import { SyncProvider } from '../../../packages/sync/src/provider.js'\nexport const p = SyncProvider")
    expect(errors).toEqual(
      expect.arrayContaining([expect.stringMatching(/^import-x\/no-restricted-paths: .*never the client/), expect.stringMatching(/^no-restricted-imports: /)]),
    )
  })

  it('the server may not import the editor', async () => {
    const errors = await boundaryErrors('apps/server/src/probe.ts', "import { mountEditor } from '@tandem/editor'\nexport const m = mountEditor")
    expect(errors).toEqual(
      expect.arrayContaining([expect.stringMatching(/^no-restricted-imports: .*editor/), expect.stringMatching(/^import-x\/no-restricted-paths: .*editor/)]),
    )
  })

  it('the editor may import both the protocol and the client', async () => {
    const code = "import { CloseCode } from '@tandem/sync'\nimport { SyncProvider } from '@tandem/sync/provider'\nexport const x = [CloseCode, SyncProvider]"
    expect(await boundaryErrors('apps/editor/src/probe.ts', code)).toEqual([])
  })

  it('server tests may drive the server with the client', async () => {
    expect(await boundaryErrors('apps/server/test/probe.test.ts', "import { SyncProvider } from '@tandem/sync/provider'\nexport const p = SyncProvider")).toEqual([])
  })

  it('@tandem/sync imports no app', async () => {
    const errors = await boundaryErrors('packages/sync/src/probe.ts', "import { createServer } from '../../../apps/server/src/server.js'\nexport const s = createServer")
    expect(errors).toEqual([expect.stringMatching(/^import-x\/no-restricted-paths: .*imports no app/)])
  })
})
