#!/usr/bin/env node
/**
 * The Playwright suite: finds a browser (scripts/find-tools.mjs), makes sure the server and
 * editor are built (the tests run the BUILT server, as users do), then runs
 * `playwright test -c e2e/playwright.config.ts` with CHROMIUM_PATH set and exits with its code.
 * Extra arguments go to Playwright: `node scripts/e2e.mjs carets --headed`.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ToolNotFound, findChromium } from './find-tools.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))

let browser
try {
  browser = findChromium()
} catch (err) {
  console.error(err instanceof ToolNotFound ? err.message : err)
  process.exit(1)
}
console.error(`e2e: browser = ${browser.path ?? "Playwright's own Chromium"} (${browser.source})`)

const needed = ['apps/server/dist/main.js', 'apps/editor/dist/index.html', 'apps/editor/dist/embed.html', 'apps/editor/dist-lib/tandem-editor.js']
if (needed.some((f) => !existsSync(join(root, f)))) {
  console.error('e2e: build output missing; running `pnpm build` first')
  const build = spawnSync('pnpm', ['build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
  if (build.status !== 0) process.exit(build.status ?? 1)
}

const require = createRequire(join(root, 'e2e', 'package.json'))
const cli = join(require.resolve('@playwright/test/package.json'), '..', 'cli.js')
const env = { ...process.env }
if (browser.path) env.CHROMIUM_PATH = browser.path
else delete env.CHROMIUM_PATH

const result = spawnSync(process.execPath, [cli, 'test', '-c', join(root, 'e2e', 'playwright.config.ts'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env,
})
if (result.error) {
  console.error(result.error)
  process.exit(1)
}
process.exit(result.status ?? 1)
