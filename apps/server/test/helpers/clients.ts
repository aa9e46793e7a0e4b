import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { until } from './wait.js'

/** A stock y-websocket client (what users of the Yjs ecosystem already have). */
export function yws(wsUrl: string, room: string, doc = new Y.Doc()) {
  const provider = new WebsocketProvider(wsUrl, room, doc, { WebSocketPolyfill: WebSocket as never, disableBc: true })
  return { doc, provider, destroy: () => provider.destroy() }
}

export async function synced(provider: { synced: boolean }, what = 'sync'): Promise<void> {
  await until(() => provider.synced, what)
}

export const text = (doc: Y.Doc, name = 't') => doc.getText(name).toString()

/** A raw socket for hostile input; resolves when open. */
export async function rawSocket(wsUrl: string, room: string): Promise<WebSocket> {
  const ws = new WebSocket(`${wsUrl}/${encodeURIComponent(room)}`)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return ws
}

export function closeOf(ws: WebSocket, timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    if (ws.readyState === WebSocket.CLOSED) return reject(new Error('already closed'))
    const timer = setTimeout(() => reject(new Error('socket did not close')), timeoutMs)
    ws.once('close', (code, reason) => {
      clearTimeout(timer)
      resolve({ code, reason: reason.toString() })
    })
  })
}

/** Attempts an upgrade; resolves with the HTTP status of a refusal, or 101 if the socket opened (then closes it). */
export function upgradeStatus(url: string, options: WebSocket.ClientOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options)
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      res.resume()
      ws.terminate()
    })
    ws.once('open', () => {
      resolve(101)
      ws.close()
    })
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err)
    })
  })
}
