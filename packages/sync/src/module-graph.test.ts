/**
 * '@tandem/sync' is the wire protocol and nothing else: the server loads it, and must never
 * load the client ('@tandem/sync/provider': sockets, timers, retries, tab channels). Checked on
 * the sources' import graph, resolved by TypeScript itself the way the workspace resolves it
 * (package exports, the "source" condition, `export * from`, dynamic import()), so a
 * re-export, an index file or a deep import that reaches provider/ fails here, not in
 * production. Type-only imports count too: the server has no business with client types.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const PROTOCOL_DIR = join(ROOT, 'packages/sync/src/protocol') + sep
const PROVIDER_DIR = join(ROOT, 'packages/sync/src/provider') + sep
const SERVER_SRC = join(ROOT, 'apps/server/src')

const options: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  customConditions: ['source'],
}

/** TypeScript sources of the repository (not declarations, not dependencies). */
const isRepoSource = (file: string): boolean =>
  file.startsWith(ROOT) && !file.includes(`${sep}node_modules${sep}`) && /\.tsx?$/.test(file) && !file.endsWith('.d.ts')

/** Every repository source `entries` reach through imports and re-exports, entries included. */
function reachable(entries: readonly string[]): Set<string> {
  const seen = new Set<string>()
  const queue = [...entries]
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue
    seen.add(file)
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
    for (const { fileName: specifier } of importedFiles) {
      const resolved = ts.resolveModuleName(specifier, file, options, ts.sys).resolvedModule?.resolvedFileName
      if (resolved === undefined) continue // a stylesheet, or a package without types: not ours
      const real = ts.sys.realpath?.(resolved) ?? resolved
      if (isRepoSource(real)) queue.push(real)
    }
  }
  return seen
}

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.ts$/.test(name) && !name.endsWith('.test.ts') && !name.endsWith('.d.ts'))
    .map((name) => join(dir, name))
}

const under = (dir: string, files: Set<string>): string[] =>
  [...files].filter((f) => f.startsWith(dir)).map((f) => relative(ROOT, f)).sort()

describe('module graph of @tandem/sync', () => {
  it('the protocol entry point reaches no provider code', () => {
    const graph = reachable([join(PROTOCOL_DIR, 'index.ts')])
    expect(under(PROTOCOL_DIR, graph)).toContain('packages/sync/src/protocol/frame.ts')
    expect(under(PROVIDER_DIR, graph)).toEqual([])
  })

  it("the server's sources reach the protocol through @tandem/sync, and never the provider", () => {
    const entries = sourcesUnder(SERVER_SRC)
    expect(entries).toContain(join(SERVER_SRC, 'server.ts'))
    const graph = reachable(entries)
    // The walk does follow @tandem/sync into its sources: the check below is not vacuous.
    expect(under(PROTOCOL_DIR, graph)).toContain('packages/sync/src/protocol/index.ts')
    expect(under(PROVIDER_DIR, graph)).toEqual([])
  })

  it('sees a client that does load the provider: the editor, through @tandem/sync/provider', () => {
    const graph = reachable([join(ROOT, 'apps/editor/src/mount-editor.ts')])
    expect(under(PROVIDER_DIR, graph)).toContain('packages/sync/src/provider/link.ts')
  })
})
