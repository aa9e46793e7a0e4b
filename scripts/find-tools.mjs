#!/usr/bin/env node
/**
 * Finds (or, as root on Debian, installs) the programs the test suite drives:
 *   chromium  the Playwright suite's browser:  $CHROMIUM_PATH, /usr/bin/chromium, Playwright's own
 *             (`npx playwright install chromium`), else apt package chromium
 *   nginx     the deployment guide's load balancer (scale-out/nginx.test.ts):  $NGINX_PATH,
 *             `nginx` on PATH or in /usr/sbin, else apt package nginx-light or nginx (see below)
 *   openssl   makes the TLS test's self-signed certificate (net/tls.test.ts):  $OPENSSL_PATH,
 *             `openssl` on PATH, else apt package openssl
 * The tools found nowhere are installed with ONE `apt-get update && apt-get install -y
 * --no-install-recommends …` when running as root on Debian/Ubuntu (waiting for another apt/dpkg
 * to finish first); otherwise ToolNotFound says exactly what to run.
 *
 * findTools(names) → { name: { path, source } }; path is undefined only for "Playwright's own
 * Chromium". scripts/test.mjs calls it before vitest and hands the paths on as CHROMIUM_PATH,
 * NGINX_PATH, OPENSSL_PATH; tests read those (a test never installs anything).
 * CLI: `node scripts/find-tools.mjs [--no-install] [nginx|chromium|openssl …]` prints
 * `VARIABLE=path` lines (all three tools when none is named), or the instructions and exits 1.
 */
import { accessSync, constants, existsSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { delimiter, join } from 'node:path'
import { homedir, platform } from 'node:os'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

export class ToolNotFound extends Error {}

const isExecutable = (file) => {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** `command -v name`, plus the sbin directories a non-root PATH often lacks. */
function onPath(name) {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean)
  for (const dir of [...dirs, '/usr/local/sbin', '/usr/sbin', '/sbin']) {
    if (isExecutable(join(dir, name))) return join(dir, name)
  }
  return undefined
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

/**
 * Each tool: the variable that overrides the search, where to look (in order; a function may
 * return { path: undefined } to mean "the tool's own copy"), the Debian package, and what to tell
 * someone who has to install it by hand.
 */
const TOOLS = {
  chromium: {
    env: 'CHROMIUM_PATH',
    what: 'Chromium for the browser tests',
    look: [
      () => (isExecutable('/usr/bin/chromium') ? { path: '/usr/bin/chromium', source: 'system' } : undefined),
      () => (playwrightHasChromium() ? { path: undefined, source: 'playwright' } : undefined),
    ],
    apt: ['chromium'],
    otherwise: ["any OS, Playwright's own:  npx -y playwright@1.65.1 install chromium"],
  },
  nginx: {
    env: 'NGINX_PATH',
    what: "nginx for the deployment guide's load-balancer test (it need not run as a service)",
    look: [() => { const p = onPath('nginx'); return p ? { path: p, source: 'system' } : undefined }],
    // The guide's config needs only core modules (map, upstream hash, proxy). Debian 11 splits the
    // binary into nginx-light/-core/-full (light is enough); from Debian 12 nginx-light is an
    // `all` package adding the echo module to `nginx`, which then is the smallest: aptPackage()
    // takes the first of these that ships a binary itself.
    apt: ['nginx-light', 'nginx'],
    otherwise: ['other systems: install nginx with the package manager (brew install nginx, …)'],
  },
  openssl: {
    env: 'OPENSSL_PATH',
    what: "openssl for the TLS test's self-signed certificate",
    look: [() => { const p = onPath('openssl'); return p ? { path: p, source: 'system' } : undefined }],
    apt: ['openssl'],
    otherwise: ['other systems: install OpenSSL with the package manager'],
  },
}

export const TOOL_NAMES = Object.keys(TOOLS)

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0
const isDebianLike = () => existsSync('/etc/debian_version') && isExecutable('/usr/bin/apt-get')

const aptCommand = (packages) => `apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`

function instructions(names) {
  const lines = [`Not found: ${names.map((n) => TOOLS[n].what).join('; ')}.`, 'Do one of these, then run the tests again:']
  lines.push(`  - Debian/Ubuntu:  sudo sh -c '${aptCommand(names.map((n) => TOOLS[n].apt.at(-1)))}'`)
  for (const n of names) for (const o of TOOLS[n].otherwise) lines.push(`  - ${o}`)
  for (const n of names) lines.push(`  - an existing ${n}:  export ${TOOLS[n].env}=/path/to/${n}`)
  return lines.join('\n')
}

/** Blocks the (synchronous) script for ms without spinning. */
const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

/**
 * apt-get with its output shown (on stderr); while another apt/dpkg holds the lock (another install on a
 * shared machine), waits and tries again, for up to ~10 minutes.
 */
function aptGet(args, log) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  for (let attempt = 1; ; attempt++) {
    // apt's progress goes to stderr: stdout is for the VARIABLE=path lines of the CLI.
    const r = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], { stdio: ['ignore', process.stderr, 'pipe'], env, encoding: 'utf8' })
    process.stderr.write(r.stderr ?? '')
    if (r.status === 0) return
    const locked = /Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock directory/.test(r.stderr ?? '')
    if (!locked || attempt >= 120) throw new Error(`apt-get ${args.join(' ')} failed (exit ${r.status ?? r.signal})`)
    if (attempt === 1) log('apt is busy (another install is running); waiting for its lock…')
    pause(5_000)
  }
}

/**
 * Of a tool's package alternatives (after `apt-get update`), the first whose installable version
 * ships a binary (not an `Architecture: all` metapackage), else the first apt has at all.
 */
function aptPackage(alternatives) {
  const arch = (pkg) => {
    const r = spawnSync('apt-cache', ['show', '--no-all-versions', pkg], { encoding: 'utf8' })
    return r.status === 0 ? (/^Architecture: (\S+)/m.exec(r.stdout)?.[1] ?? 'all') : undefined
  }
  const known = alternatives.map((p) => ({ p, arch: arch(p) })).filter((a) => a.arch)
  return (known.find((a) => a.arch !== 'all') ?? known[0])?.p
}

function lookup(name) {
  const tool = TOOLS[name]
  const configured = process.env[tool.env]
  if (configured) {
    if (!isExecutable(configured)) throw new ToolNotFound(`${tool.env}=${configured} is not an executable file: point it at a ${name} binary, or unset it to let the tests look for one.`)
    return { path: configured, source: tool.env }
  }
  for (const look of tool.look) {
    const found = look()
    if (found) return found
  }
  return undefined
}

/**
 * @param {string[]} [names] tools to find (default: all)
 * @param {{ install?: boolean, log?: (msg: string) => void }} [options]
 * @returns {Record<string, { path: string | undefined, source: string }>}
 */
export function findTools(names = TOOL_NAMES, { install = true, log = (m) => console.error(m) } = {}) {
  for (const n of names) if (!TOOLS[n]) throw new Error(`unknown tool ${n} (known: ${TOOL_NAMES.join(', ')})`)
  const found = {}
  for (const n of names) {
    const f = lookup(n)
    if (f) found[n] = f
  }
  const missing = names.filter((n) => !found[n])
  if (missing.length === 0) return found
  if (!install || !isRoot() || !isDebianLike()) throw new ToolNotFound(instructions(missing))

  log(`Not found: ${missing.join(', ')}; installing ${missing.length > 1 ? 'them' : 'it'} with apt-get (update, then install)…`)
  let packages = []
  try {
    aptGet(['update'], log)
    packages = missing.map((n) => aptPackage(TOOLS[n].apt))
    const unknown = missing.filter((_, i) => !packages[i])
    if (unknown.length) throw new Error(`apt has no package for ${unknown.join(', ')} (tried ${unknown.map((n) => TOOLS[n].apt.join(', ')).join('; ')})`)
    log(`installing: apt-get install -y --no-install-recommends ${packages.join(' ')}`)
    aptGet(['install', '-y', '--no-install-recommends', ...packages], log)
  } catch (err) {
    throw new ToolNotFound(`${err.message}.\n${instructions(missing)}`)
  }
  for (const [i, n] of missing.entries()) {
    const f = lookup(n)
    if (!f?.path) throw new ToolNotFound(`apt-get installed ${packages[i]} but no ${n} binary turned up.\n${instructions([n])}`)
    found[n] = { path: f.path, source: 'apt-get' }
  }
  return found
}

export const findChromium = (options) => findTools(['chromium'], options).chromium
export const findNginx = (options) => findTools(['nginx'], options).nginx

/** The environment that hands what findTools found to the tests (CHROMIUM_PATH, NGINX_PATH, …). */
export function toolEnv(found) {
  const env = {}
  for (const [n, f] of Object.entries(found)) if (f.path) env[TOOLS[n].env] = f.path
  return env
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2)
  const names = args.filter((a) => !a.startsWith('--'))
  try {
    const found = findTools(names.length ? names : TOOL_NAMES, { install: !args.includes('--no-install') })
    for (const [n, f] of Object.entries(found)) {
      if (f.path) console.log(`${TOOLS[n].env}=${f.path}`)
      else console.error(`${n}: Playwright's own (no ${TOOLS[n].env} needed)`)
    }
  } catch (err) {
    console.error(err instanceof ToolNotFound ? err.message : err)
    process.exit(1)
  }
}
