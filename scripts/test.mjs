#!/usr/bin/env node
/**
 * `pnpm test`: everything CI proves, in one command.
 *   1. build every package and the editor (the integration and e2e tests run the BUILT server);
 *   2. vitest: unit, property and integration tests (real server, real SQLite/PostgreSQL/Redis);
 *   3. Playwright in a real Chromium (scripts/e2e.mjs finds or installs a browser).
 * Stops at the first failing step and exits with its code.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

function step(name, cmd, args) {
  const started = Date.now()
  console.log(`\n▶ ${name}: ${[cmd, ...args].join(' ')}`)
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env })
  const secs = ((Date.now() - started) / 1000).toFixed(1)
  if (r.status !== 0) {
    console.error(`✗ ${name} failed (exit ${r.status ?? r.signal}) after ${secs} s`)
    process.exit(r.status ?? 1)
  }
  console.log(`✓ ${name} (${secs} s)`)
}

const pnpm = process.env.npm_execpath?.includes('pnpm') ? [process.execPath, [process.env.npm_execpath]] : ['pnpm', []]
step('build', pnpm[0], [...pnpm[1], 'build'])
step('unit + integration (vitest)', pnpm[0], [...pnpm[1], 'exec', 'vitest', 'run'])
step('end-to-end (Playwright)', process.execPath, ['scripts/e2e.mjs'])
