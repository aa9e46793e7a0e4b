#!/usr/bin/env node
/**
 * Finds a Chromium for the Playwright suite, in this order:
 *   1. $CHROMIUM_PATH
 *   2. /usr/bin/chromium (Debian's package; see TOOLCHAIN.md)
 *   3. Playwright's own browser, if `npx playwright install chromium` has been run
 *   4. as root on Debian: `apt-get update && apt-get install -y chromium`
 *   5. otherwise: a message saying exactly what to install, and no browser.
 *
 * findChromium() resolves to { path } for an explicit binary, { path: undefined } when
 * Playwright should use its own browser, or throws BrowserNotFound with the instructions.
 * Run directly (`node scripts/find-chromium.mjs`) it prints the choice or the instructions.
 */
import { accessSync, constants, existsSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir, platform } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const DEBIAN_CHROMIUM = '/usr/bin/chromium'

export class BrowserNotFound extends Error {}

const isExecutable = (file) => {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Playwright's downloaded browsers live here unless PLAYWRIGHT_BROWSERS_PATH says otherwise. */
function playwrightBrowsersDir() {
  const configured = process.env.PLAYWRIGHT_BROWSERS_PATH
  if (configured && configured !== '0') return configured
  if (platform() === 'darwin') return join(homedir(), 'Library', 'Caches', 'ms-playwright')
  if (platform() === 'win32') return join(process.env.LOCALAPPDATA ?? homedir(), 'ms-playwright')
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ms-playwright')
}

/** True when Playwright has a Chromium of its own (full browser or the headless shell). */
function playwrightHasChromium() {
  try {
    const require = createRequire(join(root, 'e2e', 'package.json'))
    const { chromium } = require('@playwright/test')
    if (existsSync(chromium.executablePath())) return true
  } catch {
    // @playwright/test not installed or the registry lookup failed: fall through to the directory.
  }
  try {
    return readdirSync(playwrightBrowsersDir()).some((d) => /^chromium(_headless_shell)?-\d+$/.test(d))
  } catch {
    return false
  }
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0
const isDebianLike = () => existsSync('/etc/debian_version') && existsSync('/usr/bin/apt-get')

const instructions = () =>
  [
    'No Chromium found for the browser tests. Do one of these, then run the tests again:',
    '  - Debian/Ubuntu with apt:   sudo apt-get update && sudo apt-get install -y chromium',
    "  - any OS, Playwright's own: npx -y playwright@1.65.1 install chromium",
    '  - an existing Chrome/Chromium: export CHROMIUM_PATH=/path/to/chrome',
  ].join('\n')

function aptInstall(log) {
  log('No Chromium found; installing Debian\'s chromium package (apt-get, ~30 s)…')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env })
    if (r.status !== 0) throw new BrowserNotFound(`apt-get ${args.join(' ')} failed (exit ${r.status}).\n${instructions()}`)
  }
  if (!isExecutable(DEBIAN_CHROMIUM)) throw new BrowserNotFound(`apt-get installed chromium but ${DEBIAN_CHROMIUM} is missing.\n${instructions()}`)
  return DEBIAN_CHROMIUM
}

/**
 * @param {{ install?: boolean, log?: (msg: string) => void }} [options]
 * @returns {{ path: string | undefined, source: string }}
 */
export function findChromium({ install = true, log = (m) => console.error(m) } = {}) {
  const configured = process.env.CHROMIUM_PATH
  if (configured) {
    if (!isExecutable(configured)) throw new BrowserNotFound(`CHROMIUM_PATH=${configured} is not an executable file: point it at a Chrome/Chromium binary, or unset it to let the tests look for one.`)
    return { path: configured, source: 'CHROMIUM_PATH' }
  }
  if (isExecutable(DEBIAN_CHROMIUM)) return { path: DEBIAN_CHROMIUM, source: 'system' }
  if (playwrightHasChromium()) return { path: undefined, source: 'playwright' }
  if (install && isRoot() && isDebianLike()) return { path: aptInstall(log), source: 'apt-get' }
  throw new BrowserNotFound(instructions())
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const found = findChromium({ install: !process.argv.includes('--no-install') })
    console.log(found.path ?? "(Playwright's own Chromium)")
  } catch (err) {
    console.error(err instanceof BrowserNotFound ? err.message : err)
    process.exit(1)
  }
}
