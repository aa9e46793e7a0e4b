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
      if (v) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last instanceof Error ? String(last) : JSON.stringify(last)}` : ''}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}
