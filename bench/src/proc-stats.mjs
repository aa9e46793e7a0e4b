// CPU time and resident memory of a process, straight from /proc (Linux).
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'

const CLK_TCK = (() => {
  try { return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100 } catch { return 100 }
})()

/** utime + stime of all threads of `pid`, in ms (resolution 1000 / CLK_TCK). @param {number} pid */
function cpuMs (pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which may contain spaces: ") S ppid ...".
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK // utime, stime are fields 14, 15
}

/** VmRSS of `pid` in KiB. @param {number} pid */
function rssKiB (pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) : NaN
}

/** One process, or several summed (a cluster of servers). @param {number | number[]} pid */
export const sample = (pid) => {
  const pids = Array.isArray(pid) ? pid : [pid]
  return { t: performance.now(), cpu: pids.reduce((n, p) => n + cpuMs(p), 0), rss: pids.reduce((n, p) => n + rssKiB(p), 0), sys: systemBusyMs() }
}

/** @typedef {ReturnType<typeof sample>} Sample */

/**
 * CPU the rest of the machine used between two pairs of samples (server, load generator), as a
 * share of one core: other people's work that competed with the measurement.
 * @param {{ server: Sample, lg: Sample }} a @param {{ server: Sample, lg: Sample }} b
 */
export const otherLoad = (a, b) => Math.max(0,
  b.server.sys - a.server.sys - (b.server.cpu - a.server.cpu) - (b.lg.cpu - a.lg.cpu)) / (b.server.t - a.server.t)

/** CPU ms spent between two samples and the share of one core it represents. @param {Sample} a @param {Sample} b */
export const cpuBetween = (a, b) => ({ cpuMs: b.cpu - a.cpu, wallMs: b.t - a.t, util: (b.cpu - a.cpu) / (b.t - a.t) })

/** CPU time all processes on the machine spent busy, in ms (from the first line of /proc/stat). */
function systemBusyMs () {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
  return ((user + nice + system + irq + softirq + (steal || 0)) * 1000) / CLK_TCK
}

/**
 * Share of one core used by processes other than ours (`ours`: pids to exclude) over `ms`.
 * @param {number[]} ours @param {number} ms
 */
export async function foreignLoad (ours, ms) {
  const own = () => ours.reduce((n, pid) => { try { return n + cpuMs(pid) } catch { return n } }, 0)
  const [b0, o0, t0] = [systemBusyMs(), own(), performance.now()]
  await new Promise((resolve) => setTimeout(resolve, ms))
  return (systemBusyMs() - b0 - (own() - o0)) / (performance.now() - t0)
}
