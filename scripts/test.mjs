#!/usr/bin/env node
/**
 * `pnpm test`: everything CI proves, in one command.
 *   0. find the programs the tests drive, or install them (scripts/find-tools.mjs: Chromium,
 *      nginx, openssl; as root on Debian it apt-installs what is missing, else it stops with the
 *      command to run), BEFORE any test starts: a test never installs anything;
 *   1. build every package and the editor (the integration and e2e tests run the BUILT server);
 *   2. lint (scripts/lint.mjs): ESLint, import cycles (dpdm), unused code (knip). After the
 *      build: the server's type-aware lint reads @tandem/sync's built types;
 *   3. vitest: unit, property and integration tests (real server, real SQLite/PostgreSQL/Redis),
 *      with NGINX_PATH and OPENSSL_PATH set to what step 0 found;
 *   4. Playwright in a real Chromium (scripts/e2e.mjs, with CHROMIUM_PATH from step 0).
 * Stops at the first failing step and exits with its code.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ToolNotFound, findTools, toolEnv } from './find-tools.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))

console.log('\n▶ tools: Chromium, nginx, openssl')
let env
try {
  const found = findTools()
  for (const [name, f] of Object.entries(found)) console.log(`  ${name}: ${f.path ?? "Playwright's own"} (${f.source})`)
  env = { ...process.env, ...toolEnv(found) }
} catch (err) {
  console.error(err instanceof ToolNotFound ? err.message : err)
  console.error('✗ tools: missing')
  process.exit(1)
}

function step(name, cmd, args) {
  const started = Date.now()
  console.log(`\n▶ ${name}: ${[cmd, ...args].join(' ')}`)
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env })
  const secs = ((Date.now() - started) / 1000).toFixed(1)
  if (r.status !== 0) {
    console.error(`✗ ${name} failed (exit ${r.status ?? r.signal}) after ${secs} s`)
    process.exit(r.status ?? 1)
  }
  console.log(`✓ ${name} (${secs} s)`)
}

const pnpm = process.env.npm_execpath?.includes('pnpm') ? [process.execPath, [process.env.npm_execpath]] : ['pnpm', []]
step('build', pnpm[0], [...pnpm[1], 'build'])
step('lint', process.execPath, ['scripts/lint.mjs'])
step('unit + integration (vitest)', pnpm[0], [...pnpm[1], 'exec', 'vitest', 'run'])
step('end-to-end (Playwright)', process.execPath, ['scripts/e2e.mjs'])
