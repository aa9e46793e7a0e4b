import { Writable } from 'node:stream'
import { pino } from 'pino'
import WebSocket from 'ws'
import { SAVED_ACK_PROTOCOL, readFrame, writeSyncUpdate } from '@tandem/sync'
import { loadConfig } from '../../src/config.js'
import { createBackends } from '../../src/backends.js'
import { createTandemServer } from '../../src/server.js'
import { tempDir, removeDir } from '../helpers/server.js'
import { until } from '../helpers/wait.js'

/** The /healthz body (health/model.ts). */
export interface HealthBody {
  status: 'ok' | 'degraded' | 'down'
  store: Component
  fanout: Component
}
interface Component {
  kind: string
  state: 'ok' | 'down'
  ok: boolean
  reason?: string
  detail?: string
}

export async function healthz(url: string): Promise<{ code: number; body: HealthBody }> {
  const res = await fetch(`${url}/healthz`)
  return { code: res.status, body: (await res.json()) as HealthBody }
}

/** Polls /healthz until `match` holds for it; returns that answer. */
export function healthUntil(url: string, what: string, match: (h: { code: number; body: HealthBody }) => boolean, timeoutMs = 10_000) {
  return until(async () => {
    const h = await healthz(url)
    return match(h) ? h : undefined
  }, what, timeoutMs)
}

/**
 * A real server in this process (PORT=0, own temp DATA_DIR) whose log lines the test can read:
 * the point of several tests is that a transition is logged once, not once per request.
 */
export async function startLoggedServer(env: Record<string, string>) {
  const dataDir = tempDir('tandem-health-')
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', ...env, LOG_LEVEL: 'info', DATA_DIR: dataDir }, { editorDir: '' })
  const lines: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      done()
    },
  })
  const log = pino({ level: 'info' }, sink)
  const { store, fanout } = await createBackends(config, log)
  const server = createTandemServer({ config, store, fanout, log })
  const { port } = await server.listen()
  let closed = false
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    fanout,
    /** a point in the log, for `logged(re, since)` */
    mark: () => lines.length,
    /** how many log messages (the `msg` field) match `re`, counting from `since` */
    logged: (re: RegExp, since = 0) => lines.slice(since).filter((l) => re.test((JSON.parse(l) as { msg: string }).msg)).length,
    async close() {
      if (closed) return
      closed = true
      await server.close()
      await fanout.close()
      await store.close()
      removeDir(dataDir)
    },
  }
}

/**
 * A raw client that negotiates "saved" acknowledgements: `write` resolves when the server
 * acknowledged the update (stored), or with the close code when it closed the socket instead.
 */
export async function writer(wsUrl: string, room: string) {
  const ws = new WebSocket(`${wsUrl}/${room}`, [SAVED_ACK_PROTOCOL])
  let saved = 0
  let closeCode: number | undefined
  ws.on('message', (d: Buffer) => {
    const f = readFrame(d)
    if (f.type === 'saved') saved = f.count
  })
  ws.on('close', (code) => (closeCode = code))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  let sent = 0
  return {
    ws,
    async write(update: Uint8Array): Promise<'saved' | { closed: number }> {
      if (closeCode !== undefined) return { closed: closeCode }
      ws.send(writeSyncUpdate(update))
      const n = ++sent
      return until(() => (saved >= n ? ('saved' as const) : closeCode !== undefined ? { closed: closeCode } : undefined), `update ${n} saved or refused`)
    },
    close: () => ws.terminate(),
  }
}
