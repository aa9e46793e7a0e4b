// The server's own view of itself, through the V8 inspector it was started with
// (`--inspect=127.0.0.1:0`): a full GC on request, process.memoryUsage() and
// process.getActiveResourcesInfo(), the timers armed. Nothing in the server's code is needed for it, and the
// figures are exact (not sampled from outside).
import WebSocket from 'ws'

/** Resolves with the inspector's ws:// address once the child prints it on stderr. @param {import('node:child_process').ChildProcess} child */
export function inspectorUrl (child, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => reject(new Error(`no "Debugger listening" line within ${timeoutMs} ms: ${buf}`)), timeoutMs)
    const onData = (/** @type {Buffer} */ d) => {
      buf += d
      const m = /Debugger listening on (ws:\/\/\S+)/.exec(buf)
      if (!m) return
      clearTimeout(timer)
      child.stderr?.off('data', onData)
      resolve(m[1])
    }
    child.stderr?.on('data', onData)
  })
}

/** @param {string} url */
export async function connectInspector (url) {
  const ws = new WebSocket(url)
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  let nextId = 1
  /** @type {Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>} */
  const waiting = new Map()
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data))
    const w = msg.id !== undefined && waiting.get(msg.id)
    if (!w) return
    waiting.delete(msg.id)
    if (msg.error) w.reject(new Error(`inspector: ${msg.error.message}`))
    else w.resolve(msg.result)
  })
  ws.on('close', () => { for (const w of waiting.values()) w.reject(new Error('inspector closed')); waiting.clear() })
  /** @param {string} method @param {object} [params] @returns {Promise<any>} */
  const call = (method, params = {}) => new Promise((resolve, reject) => {
    const id = nextId++
    waiting.set(id, { resolve, reject })
    ws.send(JSON.stringify({ id, method, params }))
  })
  /** @param {string} expression */
  const evaluate = async (expression) => {
    const r = await call('Runtime.evaluate', { expression, returnByValue: true })
    if (r.exceptionDetails) throw new Error(`inspector evaluate: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`)
    return r.result.value
  }
  return {
    /** a full, blocking garbage collection in the server */
    gc: () => call('HeapProfiler.collectGarbage'),
    /** @returns {Promise<NodeJS.MemoryUsage>} */
    memory: () => evaluate('process.memoryUsage()'),
    /** active handles and requests by type (Timeout, TCPSocketWrap, FSReqCallback, …) but Immediate @returns {Promise<Record<string, number>>} */
    // Without 'Immediate': a setImmediate queued for this very turn (by the evaluation or a socket's
    // last callbacks) is not something left behind.
    resources: () => evaluate("process.getActiveResourcesInfo().filter((t) => t !== 'Immediate').reduce((m, t) => (m[t] = (m[t] || 0) + 1, m), {})"),
    /**
     * Timers armed right now, unref'd ones included (getActiveResourcesInfo lists only those that
     * keep the process alive): the live Timeout objects in the heap (Runtime.queryObjects, which
     * collects garbage first) that have not fired or been cleared. Not counted: Node's own
     * `resetCache` (node:http's Date-header cache), armed for a second after any HTTP response,
     * this sampler's /metrics requests included.
     * @returns {Promise<string[]>} one line per timer: its delay and its callback's name
     */
    async timers () {
      const proto = await call('Runtime.evaluate', { expression: '(() => { const t = setTimeout(() => {}, 1e9); clearTimeout(t); return Object.getPrototypeOf(t) })()' })
      const all = await call('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId })
      const r = await call('Runtime.callFunctionOn', { objectId: all.objects.objectId, functionDeclaration: 'function () { return this.filter((t) => !t._destroyed && !(t._onTimeout && t._onTimeout.name === "resetCache")).map((t) => `${t._idleTimeout} ms ${t._onTimeout && t._onTimeout.name || "anonymous"}${t._repeat ? " (repeat)" : ""}`).sort() }', returnByValue: true })
      await call('Runtime.releaseObject', { objectId: all.objects.objectId })
      await call('Runtime.releaseObject', { objectId: proto.result.objectId })
      return r.result.value
    },
    close: () => ws.close(),
  }
}
