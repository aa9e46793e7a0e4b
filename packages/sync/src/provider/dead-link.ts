/**
 * Dead-link detection for SyncProvider: no onclose may ever come for a dead TCP connection, so
 * the provider gives up on a socket (or an attempt) that has received nothing for a while.
 * One timer, re-armed only when it fires, never per message: messages are the hot path and
 * only stamp the time.
 */
import { MAX_TIMER_MS, type Timer } from './socket.js'

export class DeadLinkWatch {
  private timer: Timer | undefined
  private lastActivityAt = 0

  /** `onDead` runs when nothing was received for `timeoutMs` (Infinity: never). */
  constructor(
    readonly timeoutMs: number,
    private readonly onDead: () => void,
  ) {}

  /** Starts watching (again) from now: an attempt began. */
  start(): void {
    this.lastActivityAt = Date.now()
    this.arm()
  }

  /** Something arrived: the link is alive. */
  touch(): void {
    this.lastActivityAt = Date.now()
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  private arm(): void {
    this.stop()
    if (this.timeoutMs === Infinity) return
    const wait = this.lastActivityAt + this.timeoutMs - Date.now()
    this.timer = setTimeout(this.onTimer, Math.min(Math.max(0, wait), MAX_TIMER_MS))
  }

  private readonly onTimer = (): void => {
    this.timer = undefined
    const now = Date.now()
    // A wall clock set backwards would otherwise postpone detection by the size of the jump.
    if (now < this.lastActivityAt) this.lastActivityAt = now
    if (now - this.lastActivityAt < this.timeoutMs) {
      this.arm()
      return
    }
    this.onDead()
  }
}
