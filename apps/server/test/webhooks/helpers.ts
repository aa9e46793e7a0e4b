import * as Y from 'yjs'
import { startServer, type RunningServer } from '../helpers/server.js'
import { dropSchema, uniqueName } from '../helpers/services.js'
import { WEBHOOK_SECRET } from './receiver.js'

/** A Yjs update no other depends on (a fresh client), written through POST /api/rooms/<room>/updates. */
export async function write(base: string, room: string, text = 'x'): Promise<void> {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, text)
  const res = await fetch(`${base}/api/rooms/${encodeURIComponent(room)}/updates`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: Y.encodeStateAsUpdate(doc),
  })
  if (res.status !== 200) throw new Error(`write to ${room}: HTTP ${res.status} ${await res.text()}`)
  doc.destroy()
}

/** One sample of an unlabelled metric, as a scraper reads it. */
export async function metricValue(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(text)
  return m ? Number(m[1]) : 0
}

export type StoreKind = 'sqlite' | 'postgres'

/** A server in this process with webhooks to `url`, on the given store (its own DATA_DIR or PG schema). */
export async function webhookServer(
  store: StoreKind,
  pgUrl: string,
  url: string,
  env: Record<string, string>,
  cleanups: (() => unknown)[],
  schema = uniqueName('t_wh'),
): Promise<RunningServer> {
  const storeEnv: Record<string, string> = store === 'postgres' ? { DATABASE_URL: pgUrl, PG_SCHEMA: schema } : {}
  const s = await startServer({ WEBHOOK_URL: url, WEBHOOK_SECRET, ...storeEnv, ...env })
  cleanups.push(async () => {
    await s.close()
    if (store === 'postgres') await dropSchema(schema)
  })
  return s
}
