import { readFileSync } from 'node:fs'
import os from 'node:os'

/** What the results were measured on. */
export function machineInfo () {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown'
  const memTotal = /MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]
  return {
    nproc: os.availableParallelism(),
    cpuModel: model,
    memGiB: memTotal ? Math.round(Number(memTotal) / 1024 / 1024 * 10) / 10 : null,
    node: process.version,
    kernel: os.release(),
    loadavgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  }
}
