// Measurement-window bookkeeping shared by the load workloads: deliveries counted by arrival
// time, latency samples for messages sent inside the window, and a drain wait at the end.

export class Window {
  constructor () {
    this.open = false
    this.start = Infinity
    this.deliveries = 0
    this.lastDeliveryAt = 0
    /** @type {number[]} latency samples in ms */
    this.latencies = []
  }

  begin () { this.open = true; this.start = performance.now() }
  end () { this.open = false }

  /**
   * A message sent at `sentAt` reached a receiver at `now`.
   * @param {number} sentAt @param {number} now
   */
  deliver (sentAt, now) {
    this.lastDeliveryAt = now
    if (this.open) this.deliveries++
    if (sentAt >= this.start) this.latencies.push(now - sentAt)
  }

  /** Waits until deliveries stop arriving (quiet for `quietMs`), at most `maxMs`. */
  async drain (quietMs = 300, maxMs = 15_000) {
    const t0 = performance.now()
    while (performance.now() - t0 < maxMs && performance.now() - this.lastDeliveryAt < quietMs) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/**
 * Calls send(k, scheduledAt) for k = 0, 1, 2, … at `rate` per second from now until stop().
 * Latency is measured from the scheduled time, so a stalled sender cannot hide queueing
 * (no coordinated omission).
 * @param {number} rate @param {(k: number, scheduledAt: number) => void} send
 */
export function openLoop (rate, send) {
  const t0 = performance.now()
  const interval = 1000 / rate
  let k = 0
  let running = true
  const tick = () => {
    if (!running) return
    const due = Math.floor((performance.now() - t0) / interval)
    for (; k <= due; k++) send(k, t0 + k * interval)
    setTimeout(tick, 1)
  }
  tick()
  return { stop () { running = false }, sent: () => k }
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs `body` with a warm-up, then a measured window bracketed by marks the parent uses to
 * sample server CPU.
 * @param {Window} win @param {{ warmupMs: number, durationMs: number }} t
 * @param {(name: string) => void} mark
 */
export async function measured (win, t, mark) {
  await sleep(t.warmupMs)
  mark('start')
  win.begin()
  await sleep(t.durationMs)
  win.end()
  mark('stop')
  return performance.now() - win.start
}
