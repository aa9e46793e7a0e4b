// Parent side of a forked load generator: typed-ish request/response over IPC, plus marks
// that bracket timed windows (the parent samples server CPU the moment a mark arrives).
import { fork } from 'node:child_process'
import { join } from 'node:path'
import { BENCH_DIR } from './paths.mjs'

export function startLoadgen () {
  const child = fork(join(BENCH_DIR, 'src/loadgen/main.mjs'), [], { execArgv: ['--max-old-space-size=2048'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  let nextId = 1
  /** @type {Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>} */
  const pending = new Map()
  /** @type {(name: string) => void} */
  let onMark = () => {}
  child.on('message', (/** @type {any} */ msg) => {
    if (msg.mark !== undefined) { onMark(msg.mark); return }
    const p = pending.get(msg.id)
    if (p === undefined) return
    pending.delete(msg.id)
    if (msg.ok) p.resolve(msg.result)
    else p.reject(new Error(msg.error))
  })
  child.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`load generator exited (${code})`))
    pending.clear()
  })
  return {
    pid: /** @type {number} */ (child.pid),
    /** @param {string} cmd @param {any} [args] @returns {Promise<any>} */
    call (cmd, args) {
      const id = nextId++
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject })
        child.send({ id, cmd, args })
      })
    },
    /** @param {(name: string) => void} fn */
    onMark (fn) { onMark = fn },
    async stop () {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.disconnect()
      const t = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(t)
    },
  }
}

/** @typedef {ReturnType<typeof startLoadgen>} Loadgen */
