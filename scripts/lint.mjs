#!/usr/bin/env node
/**
 * `pnpm lint`: the guardrails, also a step of `pnpm test` (scripts/test.mjs), right after the build.
 *   1. ESLint (eslint.config.js): type-aware TypeScript rules, import boundaries (the server never
 *      imports the client, @tandem/sync/provider), close codes only by name (tools/eslint/);
 *   2. dpdm: no import cycle in the sources of the apps and packages, type-only imports included;
 *   3. knip (knip.jsonc): no unused file, export or dependency.
 * Runs all three, so one run shows every finding, then exits non-zero if any failed.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const pnpm = process.env.npm_execpath?.includes('pnpm') ? [process.execPath, [process.env.npm_execpath]] : ['pnpm', []]
const run = (args) => spawnSync(pnpm[0], [...pnpm[1], ...args], { cwd: root, stdio: 'inherit' })

// The server type-checks against @tandem/sync's built declarations (its tsconfig resolves the
// package's dist/, as at run time): without them every protocol type would read as `any`.
if (!existsSync(join(root, 'packages/sync/dist/protocol/index.d.ts'))) {
  console.log('lint: @tandem/sync is not built; building it first')
  const build = run(['--filter', '@tandem/sync', 'build'])
  if (build.status !== 0) process.exit(build.status ?? 1)
}

/** dpdm's file filter: workspace sources only (an import of @tandem/sync may resolve to its dist/). */
const DPDM_EXCLUDE = '(^|/)(node_modules|dist|dist-lib)/'
const dpdm = (files) => [
  'dpdm',
  '--no-tree',
  '--no-warning',
  '--no-progress',
  '--exit-code',
  'circular:1',
  '--exclude',
  DPDM_EXCLUDE,
  ...files,
]

const steps = [
  ['ESLint', ['eslint', '--max-warnings', '0', '.']],
  // Every import counts, type-only ones too: a cycle of types is still two modules that cannot
  // be understood one without the other.
  ['import cycles', dpdm(['apps/*/src/**/*.ts', 'packages/*/src/**/*.ts'])],
  ['unused files, exports, dependencies (knip)', ['knip', '--no-progress']],
]

const failed = []
const started = Date.now()
for (const [name, args] of steps) {
  const t = Date.now()
  console.log(`\n▶ ${name}: ${args.join(' ')}`)
  const r = run(['exec', ...args])
  const secs = ((Date.now() - t) / 1000).toFixed(1)
  if (r.status === 0) console.log(`✓ ${name} (${secs} s)`)
  else {
    console.error(`✗ ${name} failed (exit ${r.status ?? r.signal}) after ${secs} s`)
    failed.push(name)
  }
}
const total = ((Date.now() - started) / 1000).toFixed(1)
if (failed.length > 0) {
  console.error(`\n✗ lint: ${failed.join(', ')} failed (${total} s)`)
  process.exit(1)
}
console.log(`\n✓ lint (${total} s)`)
