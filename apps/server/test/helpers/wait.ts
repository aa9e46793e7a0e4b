/**
 * Waits until `check` returns a truthy value, re-checking every few ms, failing after `timeoutMs`
 * with `what` in the message. This awaits a condition; it never sleeps a fixed time.
 */
export async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<Awaited<T>>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v) return v as NonNullable<Awaited<T>>
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** Resolves with the first emission of `event`, or rejects after `timeoutMs`. */
export function once<T = unknown>(
  target: { once(event: string, cb: (...args: any[]) => void): unknown },
  event: string,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for '${event}'`)), timeoutMs)
    target.once(event, (...args: unknown[]) => {
      clearTimeout(timer)
      resolve((args.length > 1 ? args : args[0]) as T)
    })
  })
}
