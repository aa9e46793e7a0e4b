// One measured run: a fresh server process (own temp data dir) and a fresh load generator.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServers } from '../server-process.mjs'
import { startLoadgen } from '../loadgen-handle.mjs'
import { sample } from '../proc-stats.mjs'

/**
 * @typedef {object} RunContext
 * @property {import('../targets.mjs').Target} target
 * @property {any} params this scenario's parameters
 * @property {string[]} nodeArgs extra node flags for the server (profiling)
 * @property {string} tracePath scenario D's cached trace
 */

/**
 * @template T
 * @param {RunContext} ctx
 * @param {{ replay?: boolean }} o
 * @param {(rig: { server: import('../server-process.mjs').ServerHandle, lg: import('../loadgen-handle.mjs').Loadgen, dataDir: string,
 *   restart(): Promise<import('../server-process.mjs').ServerHandle> }) => Promise<T>} fn
 */
export async function withRig (ctx, o, fn) {
  const dataDir = mkdtempSync(join(tmpdir(), `tandem-bench-${ctx.target.id}-`))
  let server = await startServers(ctx.target, { dataDir, replay: o.replay, nodeArgs: ctx.nodeArgs })
  const lg = startLoadgen()
  try {
    return await fn({
      get server () { return server },
      lg,
      dataDir,
      async restart () {
        await server.stop()
        server = await startServers(ctx.target, { dataDir, replay: o.replay, nodeArgs: ctx.nodeArgs })
        return server
      },
    })
  } catch (err) {
    const e = /** @type {Error} */ (err)
    e.message += server.alive() ? '' : `\n(server died) ${server.tail()}`
    throw e
  } finally {
    await lg.stop()
    await server.stop()
    await ctx.target.cleanup?.(dataDir)
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/**
 * Samples the server and the load generator whenever the load generator marks a window edge.
 * @param {import('../loadgen-handle.mjs').Loadgen} lg @param {import('../server-process.mjs').ServerHandle} server
 */
export function markSampler (lg, server) {
  /** @type {Record<string, { server: import('../proc-stats.mjs').Sample, lg: import('../proc-stats.mjs').Sample }>} */
  const marks = {}
  lg.onMark((name) => { marks[name] = samplePair(server, lg) })
  return marks
}

/** @param {{ pid: number }} server @param {{ pid: number }} lg */
export const samplePair = (server, lg) => ({ server: sample(server.pid), lg: sample(lg.pid) })

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Common fields of every run. @param {RunContext} ctx @param {string} roomPrefix */
export const baseArgs = (ctx, server, roomPrefix) => ({ base: server.base, bases: server.bases, proto: ctx.target.proto, roomPrefix })
