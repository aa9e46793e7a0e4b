// Start a target's server as a direct child node process, wait for its ready line, stop it.
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'

const HOST = '127.0.0.1'
const READY = /listening on http:\/\/([^\s:]+):(\d+)|running at '[^']*' on port (\d+)/

/** A port that was free a moment ago (only for servers that cannot report PORT=0's choice). */
const freePort = () => new Promise((resolve, reject) => {
  const s = createServer()
  s.once('error', reject)
  s.listen(0, HOST, () => {
    const port = /** @type {import('node:net').AddressInfo} */ (s.address()).port
    s.close(() => resolve(port))
  })
})

/**
 * @param {import('./targets.mjs').Target} target
 * @param {{ dataDir: string, replay?: boolean, nodeArgs?: string[], timeoutMs?: number, index?: number }} o
 */
export async function startServer (target, o) {
  const { script, env } = target.command(o.dataDir, { replay: o.replay, index: o.index ?? 0 })
  const port = target.fixedPort ? String(await freePort()) : '0'
  const t0 = performance.now()
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), script], {
    env: { ...process.env, ...env, HOST, PORT: port },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  /** @type {string[]} */
  const tail = []
  const keep = (/** @type {Buffer} */ chunk) => {
    tail.push(...chunk.toString().split('\n').filter(Boolean))
    if (tail.length > 40) tail.splice(0, tail.length - 40)
  }
  child.stderr.on('data', keep)
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const boundPort = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${target.id}: no ready line in ${o.timeoutMs ?? 20000} ms\n${tail.join('\n')}`)), o.timeoutMs ?? 20_000)
    let buf = ''
    child.stdout.on('data', (chunk) => {
      const text = chunk.toString()
      keep(chunk)
      buf += text
      const m = READY.exec(buf)
      if (m) { clearTimeout(timer); resolve(Number(m[2] ?? m[3])); buf = '' }
      else if (buf.length > 65536) buf = buf.slice(-1024)
    })
    exited.then((e) => { clearTimeout(timer); reject(new Error(`${target.id} exited before ready: ${JSON.stringify(e)}\n${tail.join('\n')}`)) })
  })
  const startMs = performance.now() - t0
  let stopped = false
  const base = `ws://${HOST}:${boundPort}`
  return {
    /** @type {number | number[]} */
    pid: /** @type {number} */ (child.pid),
    base,
    /** every server of the target (several for a cluster, see startServers) */
    bases: [base],
    startMs,
    tail: () => tail.join('\n'),
    alive: () => child.exitCode === null && child.signalCode === null,
    /** SIGTERM (graceful: stores flush), SIGKILL after `graceMs`. */
    async stop (graceMs = 10_000) {
      if (stopped) return exited
      stopped = true
      if (child.exitCode !== null || child.signalCode !== null) return exited
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      const r = await exited
      clearTimeout(timer)
      return r
    },
  }
}

/** @typedef {Awaited<ReturnType<typeof startServer>>} ServerHandle */

/**
 * A target's servers: one process, or `target.servers` of them sharing a store and a fan-out
 * (scenario F), as one handle: CPU and RSS are summed over them, `bases` lists each one's address.
 * @param {import('./targets.mjs').Target} target
 * @param {{ dataDir: string, replay?: boolean, nodeArgs?: string[], timeoutMs?: number }} o
 * @returns {Promise<ServerHandle>}
 */
export async function startServers (target, o) {
  const n = target.servers ?? 1
  if (n === 1) return startServer(target, o)
  /** @type {ServerHandle[]} */
  const all = []
  try {
    // One after the other: the first one migrates the shared schema.
    for (let i = 0; i < n; i++) all.push(await startServer(target, { ...o, index: i }))
  } catch (err) {
    await Promise.all(all.map((s) => s.stop()))
    throw err
  }
  return {
    pid: all.map((s) => /** @type {number} */ (s.pid)),
    base: all[0].base,
    bases: all.map((s) => s.base),
    startMs: Math.max(...all.map((s) => s.startMs)),
    tail: () => all.map((s, i) => `[server ${i}]\n${s.tail()}`).join('\n'),
    alive: () => all.every((s) => s.alive()),
    async stop (graceMs) {
      const r = await Promise.all(all.map((s) => s.stop(graceMs)))
      return r[0]
    },
  }
}
