// CPU time and resident memory of a process, straight from /proc (Linux).
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'

const CLK_TCK = (() => {
  try { return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100 } catch { return 100 }
})()

/** utime + stime of all threads of `pid`, in ms (resolution 1000 / CLK_TCK). @param {number} pid */
export function cpuMs (pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which may contain spaces: ") S ppid ...".
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK // utime, stime are fields 14, 15
}

/** VmRSS of `pid` in KiB. @param {number} pid */
export function rssKiB (pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) : NaN
}

/** @param {number} pid */
export const sample = (pid) => ({ t: performance.now(), cpu: cpuMs(pid), rss: rssKiB(pid) })

/** @typedef {ReturnType<typeof sample>} Sample */

/** CPU ms spent between two samples and the share of one core it represents. @param {Sample} a @param {Sample} b */
export const cpuBetween = (a, b) => ({ cpuMs: b.cpu - a.cpu, wallMs: b.t - a.t, util: (b.cpu - a.cpu) / (b.t - a.t) })
