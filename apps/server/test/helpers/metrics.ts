import type { RunningServer } from './server.js'

/** A `{reason="…"}` sample of a counter, read from GET /metrics as a scraper would (0 when absent). */
export async function metric(s: RunningServer, name: string, reason: string): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text()
  const m = new RegExp(`^${name}\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text)
  return m ? Number(m[1]) : 0
}
