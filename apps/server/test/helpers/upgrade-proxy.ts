import { createServer, request, type IncomingMessage, type Server } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'

/**
 * A reverse proxy like nginx without the WebSocket headers in front of a Tandem server: plain
 * HTTP requests are passed on (pages, /api, the HTTP transport's long polls), and an `Upgrade`
 * is refused with 400 ('refuse', the default), left unanswered ('hang': a proxy that swallows
 * it), or tunnelled through ('allow'), switchable at any time.
 * Used by the Node tests (net/http-transport*.test.ts) and the Playwright spec (e2e/upgrade-proxy.ts).
 */
export interface UpgradeProxy {
  url: string
  wsUrl: string
  port: number
  upgrades(mode: UpgradeMode): void
  /** how many upgrades were refused so far */
  readonly refusedUpgrades: number
  close(): Promise<void>
}

type UpgradeMode = 'refuse' | 'hang' | 'allow'

export async function startUpgradeProxy(targetPort: number, host = '127.0.0.1'): Promise<UpgradeProxy> {
  let mode: UpgradeMode = 'refuse'
  let refused = 0
  const open = new Set<Duplex>()
  const track = (s: Duplex) => {
    open.add(s)
    s.once('close', () => open.delete(s))
  }

  const server: Server = createServer((req, res) => {
    const upstream = request({ host, port: targetPort, method: req.method, path: req.url, headers: req.headers }, (up: IncomingMessage) => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end('bad gateway\n')
      else res.destroy()
    })
    req.pipe(upstream)
  })
  server.on('connection', track)
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    if (mode === 'hang') {
      refused++
      track(socket)
      return
    }
    if (mode === 'refuse') {
      refused++
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    const upstream: Socket = connect(targetPort, host, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`]
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`)
      if (head.length) upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
    track(upstream)
    upstream.on('error', () => socket.destroy())
    socket.on('close', () => upstream.destroy())
    upstream.on('close', () => socket.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}`,
    port,
    upgrades: (m) => {
      mode = m
    },
    get refusedUpgrades() {
      return refused
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy()
        server.close(() => resolve())
      }),
  }
}
