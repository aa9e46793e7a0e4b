/**
 * Reconnect delays: exponential backoff with FULL jitter (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"): delay = random(0, min(cap, base · 2^attempt)).
 *
 * Why full jitter: when a server restarts, every client it held loses its socket at the same
 * instant. Plain exponential backoff keeps them in lock-step, so they all knock again together
 * at 250 ms, 500 ms, 1 s… and the reconnect storm repeats at each step. Spreading each delay
 * uniformly over [0, ceiling) turns the storm into a trickle at the cost of an occasional
 * very short wait, which is harmless.
 */

/** Parameters of the backoff curve. */
export interface BackoffOptions {
  /** Ceiling of the first retry's delay (attempt 0), in ms. */
  readonly initialMs: number
  /** No delay ever exceeds this, in ms. */
  readonly maxMs: number
}

// 2^53 already exceeds any sane cap; clamping the exponent keeps `initialMs * 2 ** attempt`
// finite, so a long outage cannot turn the ceiling into Infinity (or NaN when initialMs is 0).
const MAX_EXPONENT = 53

/** The upper bound of the delay before retry number `attempt` (0-based). */
export function backoffCeiling(attempt: number, { initialMs, maxMs }: BackoffOptions): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), MAX_EXPONENT)
  return Math.min(maxMs, initialMs * 2 ** exponent)
}

/**
 * The delay before retry number `attempt` (0-based): uniform in [0, backoffCeiling(attempt)).
 * `random` must return a number in [0, 1) like Math.random; tests inject their own.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * backoffCeiling(attempt, options))
}
