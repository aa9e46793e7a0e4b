import { spawn, type ChildProcess } from 'node:child_process'
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { removeDir, tempDir } from '../helpers/server.js'
import { until } from '../helpers/wait.js'

/**
 * The packages as a user gets them: `pnpm pack` of @tandem/schema, @tandem/sync, @tandem/server and
 * @tandem/editor, `npm install` of the four tarballs into an empty folder, then `npx tandem` there
 * and a Yjs client (the installed SyncProvider) syncing a document through it.
 *
 * Needs the npm registry (or npm's cache: --prefer-offline) for the packages' dependencies. The one
 * native dependency, better-sqlite3, normally downloads a prebuilt binary from its GitHub releases,
 * which this network does not reach (and compiling it takes minutes on 2 cores): the test serves
 * the binary the workspace already built from a mirror on 127.0.0.1, through better-sqlite3's
 * documented mirror setting (npm_config_better_sqlite3_binary_host), as an offline site would.
 */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
const PACKAGES = ['packages/schema', 'packages/sync', 'apps/server', 'apps/editor']
/** what each package's tarball needs built */
const BUILT = ['packages/schema/dist/index.js', 'packages/sync/dist/provider/index.js', 'apps/server/dist/main.js', 'apps/server/dist/index.d.ts', 'apps/editor/dist/index.html', 'apps/editor/dist-lib/index.js']
const INSTALL_TIMEOUT_MS = 240_000
/** the pnpm running this test (as scripts/test.mjs finds it), else the one on PATH */
const PNPM: [string, string[]] = process.env.npm_execpath?.includes('pnpm') ? [process.execPath, [process.env.npm_execpath]] : ['pnpm', []]

const work = tempDir('tandem-install-')
const children: ChildProcess[] = []
let mirror: Server | undefined
afterAll(async () => {
  for (const c of children) {
    // npx runs tandem as its child: the whole group goes (both were started here).
    if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(-c.pid, 'SIGKILL')
  }
  await new Promise<void>((resolve) => (mirror ? mirror.close(() => resolve()) : resolve()))
  removeDir(work)
})

/** A command to its end (async: the mirror below answers from this process meanwhile). */
function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const timer = setTimeout(() => {
      out += `\n(killed after ${opts.timeoutMs} ms)`
      child.kill('SIGKILL')
    }, opts.timeoutMs)
    child.once('error', (err) => (out += String(err)))
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ ok: code === 0, out })
    })
  })
}

/** better-sqlite3's prebuilt-binary archive, from the workspace's build, served on 127.0.0.1 where prebuild-install looks for it. */
async function serveBetterSqlitePrebuild(): Promise<string> {
  const require = createRequire(join(ROOT, 'apps/server/package.json'))
  const pkgDir = join(require.resolve('better-sqlite3/package.json'), '..')
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }
  const binary = join(pkgDir, 'build/Release/better_sqlite3.node')
  if (!existsSync(binary)) throw new Error(`${binary} is missing: the workspace's better-sqlite3 is not built (pnpm install runs its build)`)
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`
  const stage = join(work, 'prebuild')
  mkdirSync(join(stage, 'build/Release'), { recursive: true })
  writeFileSync(join(stage, 'build/Release/better_sqlite3.node'), readFileSync(binary))
  const archive = join(work, name)
  const tar = await run('tar', ['-czf', archive, '-C', stage, 'build'], { cwd: work, timeoutMs: 30_000 })
  if (!tar.ok) throw new Error(`tar failed: ${tar.out}`)
  mirror = createServer((req, res) => {
    if (req.url !== `/v${version}/${name}`) return void res.writeHead(404).end()
    res.writeHead(200, { 'Content-Type': 'application/gzip' })
    createReadStream(archive).pipe(res)
  })
  await new Promise<void>((resolve) => mirror!.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(mirror.address() as AddressInfo).port}`
}

/** Run inside the install folder: the installed @tandem/sync provider, yjs and ws, and @tandem/server's library entry. */
const CLIENT = `
import * as Y from 'yjs'
import WebSocket from 'ws'
import { SyncProvider } from '@tandem/sync/provider'
import { createTandemServer } from '@tandem/server'
if (typeof createTandemServer !== 'function') throw new Error('@tandem/server exports no createTandemServer')
const url = process.argv[2]
const open = () => {
  const doc = new Y.Doc()
  return { doc, provider: new SyncProvider({ url, room: 'installed', doc, WebSocket }) }
}
const a = open()
const b = open()
a.doc.getText('t').insert(0, 'synced through npx tandem')
const deadline = Date.now() + 15000
while (b.doc.getText('t').toString() !== 'synced through npx tandem') {
  if (Date.now() > deadline) throw new Error('b never saw a\\'s edit')
  await new Promise((r) => setTimeout(r, 10))
}
a.provider.destroy()
b.provider.destroy()
console.log('SYNCED')
`

describe('installable packages', () => {
  it('pnpm pack → npm install into an empty folder → npx tandem serves and syncs', { timeout: INSTALL_TIMEOUT_MS + 60_000 }, async () => {
    const missing = BUILT.filter((f) => !existsSync(join(ROOT, f)))
    if (missing.length) throw new Error(`not built: ${missing.join(', ')}: run \`pnpm build\` first (pnpm test does)`)

    const tarballs = join(work, 'tarballs')
    mkdirSync(tarballs)
    const packs = await Promise.all(PACKAGES.map((pkg) => run(PNPM[0], [...PNPM[1], 'pack', '--pack-destination', tarballs], { cwd: join(ROOT, pkg), timeoutMs: 60_000 })))
    packs.forEach((r, i) => {
      if (!r.ok) throw new Error(`pnpm pack failed in ${PACKAGES[i]}:\n${r.out}`)
    })
    const packed = readdirSync(tarballs).filter((f) => f.endsWith('.tgz'))
    expect(packed.sort()).toEqual(['tandem-editor-0.1.0.tgz', 'tandem-schema-0.1.0.tgz', 'tandem-server-0.1.0.tgz', 'tandem-sync-0.1.0.tgz'])

    const app = join(work, 'app')
    mkdirSync(app)
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'tandem-install-test', private: true, type: 'module' }))
    const binaryHost = await serveBetterSqlitePrebuild()
    // npm as in a user's shell: none of the npm_* variables pnpm sets for the scripts it runs.
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|pnpm_)/i.test(k)))
    env.npm_config_better_sqlite3_binary_host = binaryHost
    env.npm_config_update_notifier = 'false'
    const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...packed.map((f) => join(tarballs, f))], { cwd: app, env, timeoutMs: INSTALL_TIMEOUT_MS })
    if (!install.ok) {
      throw new Error(
        `npm install of the packed tarballs failed. It needs the npm registry (check \`npm view ws version\`) or npm's cache holding every dependency (--prefer-offline):\n${install.out.slice(-4000)}`,
      )
    }
    expect(existsSync(join(app, 'node_modules/.bin/tandem'))).toBe(true)

    // `npx tandem` from there, exactly as a user would; the ready line on stdout, nothing else.
    const data = join(work, 'data')
    const child = spawn('npx', ['--no', 'tandem'], {
      cwd: app,
      env: { ...env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: data, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    children.push(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const url = await until(
      () => {
        if (child.exitCode !== null) throw new Error(`npx tandem exited (${child.exitCode}): ${stderr}`)
        return /^tandem listening on (http:\/\/\S+)$/m.exec(stdout)?.[1]
      },
      'the ready line of npx tandem',
      30_000,
    )
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    // The editor's page, from the installed @tandem/editor.
    const page = await fetch(`${url}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toMatch(/<html/i)

    writeFileSync(join(app, 'client.mjs'), CLIENT)
    const client = await run(process.execPath, ['client.mjs', url.replace('http', 'ws')], { cwd: app, timeoutMs: 30_000 })
    expect(client.out).toContain('SYNCED')
    // Stored by the installed server (SQLite under DATA_DIR).
    expect(existsSync(data) && readdirSync(data).length).toBeGreaterThan(0)

    process.kill(-child.pid!, 'SIGTERM')
    await until(() => child.exitCode !== null || child.signalCode !== null, 'npx tandem to stop', 10_000)
  })
})
