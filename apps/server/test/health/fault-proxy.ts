import { createServer, Socket, type AddressInfo, type Server } from 'node:net'

/**
 * A TCP proxy in front of a real service (Redis, PostgreSQL), so one test can fail ONE server's
 * links to it without touching the shared service other tests use.
 *
 * - `pause()`: a partition. Connections stay open, new ones are accepted, but nothing is
 *   forwarded either way (bytes wait in the socket buffers). `resume()` lets them through.
 * - `cut()`: the service is down. Every connection is destroyed and new ones are refused (the
 *   port stops listening). `restore()` listens again on the same port.
 */
export interface FaultProxy {
  port: number
  url(protocol: string): string
  pause(): void
  resume(): void
  cut(): Promise<void>
  restore(): Promise<void>
  close(): Promise<void>
}

interface Pair {
  client: Socket
  upstream: Socket
  flowing: boolean
}

export async function createFaultProxy(targetUrl: string, defaultPort: number): Promise<FaultProxy> {
  const target = new URL(targetUrl)
  const targetPort = Number(target.port || defaultPort)
  const targetHost = target.hostname.replace(/^\[|\]$/g, '')
  const pairs = new Set<Pair>()
  let paused = false

  const flow = (p: Pair) => {
    if (p.flowing || paused || p.upstream.connecting) return
    p.flowing = true
    p.client.pipe(p.upstream)
    p.upstream.pipe(p.client)
  }
  const stopFlowing = (p: Pair) => {
    if (!p.flowing) return
    p.flowing = false
    p.client.unpipe(p.upstream)
    p.upstream.unpipe(p.client)
    p.client.pause()
    p.upstream.pause()
  }

  const makeServer = (): Server =>
    createServer((client) => {
      const upstream = new Socket()
      const pair: Pair = { client, upstream, flowing: false }
      pairs.add(pair)
      const drop = () => {
        client.destroy()
        upstream.destroy()
        pairs.delete(pair)
      }
      client.on('error', drop).on('close', drop)
      upstream.on('error', drop).on('close', drop)
      // Until the pipes exist, nothing is read: bytes wait in the kernel, as in a partition.
      client.pause()
      upstream.connect(targetPort, targetHost, () => flow(pair))
    })

  let server = makeServer()
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve((server.address() as AddressInfo).port)
      })
    })
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const p of pairs) {
        p.client.destroy()
        p.upstream.destroy()
      }
      pairs.clear()
      if (!server.listening) return resolve()
      server.close(() => resolve())
    })

  const port = await listen(0)
  return {
    port,
    url(protocol) {
      const u = new URL(targetUrl)
      u.protocol = protocol
      u.hostname = '127.0.0.1'
      u.port = String(port)
      return u.toString()
    },
    pause() {
      paused = true
      for (const p of pairs) stopFlowing(p)
    },
    resume() {
      paused = false
      for (const p of pairs) flow(p)
    },
    cut: stop,
    async restore() {
      if (server.listening) return
      server = makeServer()
      await listen(port)
    },
    close: stop,
  }
}
