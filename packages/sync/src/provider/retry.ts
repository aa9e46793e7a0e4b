/**
 * When the Link tries again after a connection or attempt ended: the backoff exponent, and the
 * one immediate retry an expired token earns. Bookkeeping only; the Link owns the timer.
 */
import { CloseCode } from '../protocol/errors.js'
import { type BackoffOptions, backoffDelay } from './backoff.js'
import type { CloseInfo } from './types.js'

export class RetryPolicy {
  /** Consecutive attempts that did not reach `synced`: the backoff exponent. */
  private failures = 0
  /** `failures` when the current attempt started: restored if it ends on bad input after syncing. */
  private failuresAtStart = 0
  /** 4001 already triggered an immediate retry since the last sync; the next one backs off. */
  private tokenRetried = false

  constructor(private readonly backoff: BackoffOptions) {}

  attemptStarted(): void {
    this.failuresAtStart = this.failures
  }

  /** The connection synced: a success, so the next loss starts the backoff over. */
  synced(): void {
    this.failures = 0
    this.tokenRetried = false
  }

  /**
   * The attempt ended because the server sent something unusable. A connection that synced and
   * then delivered bad input was no success: without this, a server that sends a bad frame
   * right after every sync would be retried at initialBackoffMs forever.
   */
  badInput(): void {
    if (this.failures < this.failuresAtStart) this.failures = this.failuresAtStart
  }

  /** The delay before the next attempt, ms; counts this loss as a failure. */
  nextDelay(close: CloseInfo | null): number {
    // 4001: the token expired while connected. Retry at once with a fresh one, but only once
    // per successful sync, so a token function that keeps handing out stale tokens backs off.
    if (close?.code === CloseCode.TokenExpired && !this.tokenRetried) {
      this.tokenRetried = true
      return 0
    }
    return backoffDelay(this.failures++, this.backoff)
  }
}
