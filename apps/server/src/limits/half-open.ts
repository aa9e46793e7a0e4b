import type { IncomingMessage } from 'node:http'
import type { Server as NetServer, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { addressKey } from './admission.js'

/**
 * Sockets still in the HTTP stage: from the TCP accept until the socket is upgraded to a
 * WebSocket (then the per-address connection limit counts it) or closes. A plain HTTP
 * keep-alive socket stays in this stage for its whole life (node closes it after 5 s idle).
 *
 * Two bounds, both enforced before node has parsed anything:
 * - at most `perAddress` such sockets per client address (IPv6: per /64); the next one is
 *   destroyed at once, so one host cannot use up the process's file descriptors with sockets
 *   that never finish their request (0 = uncounted);
 * - a socket that has not sent complete request headers within `headersTimeoutMs` of its
 *   accept is destroyed. node's own headersTimeout only starts once an HTTP parser is attached
 *   (after the TLS handshake with https), is checked every connectionsCheckingInterval, and
 *   does not cover a refused upgrade's socket; this timer covers the whole way to the headers.
 *
 * The address is the TCP peer's: nothing else is known before the headers. Behind a reverse
 * proxy that is the proxy for every client, so the per-address cap then caps the proxy as a
 * whole (config.ts turns it off by default when TRUST_PROXY is set; the proxy bounds its own
 * clients' half-open sockets).
 */
type HalfOpenRefusal = 'half-open-per-ip' | 'headers-timeout'

export interface HalfOpenOptions {
  perAddress: number
  headersTimeoutMs: number
  onRefused: (reason: HalfOpenRefusal) => void
}

interface Entry {
  readonly socket: Socket
  readonly address: string
  readonly key: string
  timer: NodeJS.Timeout | undefined
  readonly onClose: () => void
}

/**
 * Keyed by the peer's address and port: with https, the request's socket is the TLSSocket
 * wrapping the TCP socket seen at accept, and both report the same peer.
 */
const peerKey = (s: { remoteAddress?: string; remotePort?: number }) => `${s.remoteAddress}|${s.remotePort}`

export function createHalfOpenGuard(options: HalfOpenOptions) {
  const { perAddress, headersTimeoutMs, onRefused } = options
  /** sockets in the HTTP stage per address; an entry is deleted when its count drops to 0 */
  const counts = new Map<string, number>()
  const entries = new Map<string, Entry>()

  function release(e: Entry): void {
    if (entries.get(e.key) !== e) return
    entries.delete(e.key)
    clearTimeout(e.timer)
    e.socket.off('close', e.onClose)
    const n = (counts.get(e.address) ?? 0) - 1
    if (n <= 0) counts.delete(e.address)
    else counts.set(e.address, n)
  }

  function onConnection(socket: Socket): void {
    const address = addressKey(socket.remoteAddress ?? 'unknown')
    const held = counts.get(address) ?? 0
    if (perAddress > 0 && held >= perAddress) {
      onRefused('half-open-per-ip')
      socket.destroy()
      return
    }
    const key = peerKey(socket)
    // A stale entry under the same peer (its close not yet processed) is released first, so
    // counts never drift.
    const stale = entries.get(key)
    if (stale) release(stale)
    const e: Entry = {
      socket,
      address,
      key,
      timer: setTimeout(() => {
        onRefused('headers-timeout')
        socket.destroy()
      }, headersTimeoutMs),
      onClose: () => release(e),
    }
    // Not unref'd: close() clears them all, and a listening server holds the process anyway.
    entries.set(key, e)
    counts.set(address, held + 1)
    socket.once('close', e.onClose)
  }

  return {
    /** Installs the accept hook on the server (the TCP server: https' 'connection' is the raw socket). */
    attach(server: NetServer): void {
      server.on('connection', onConnection)
    },
    /** The request's headers are complete ('request' or 'upgrade'): the headers timer stops. */
    headersIn(req: IncomingMessage): void {
      const e = entries.get(peerKey(req.socket))
      if (e && e.timer !== undefined) {
        clearTimeout(e.timer)
        e.timer = undefined
      }
    },
    /** The socket became a WebSocket: it leaves the HTTP stage (and this guard) for good. */
    upgraded(socket: Duplex): void {
      const e = entries.get(peerKey(socket as Socket))
      if (e) release(e)
    },
    /** Server shutdown: every socket still in the HTTP stage is destroyed, every timer cleared. */
    close(): void {
      for (const e of [...entries.values()]) {
        release(e)
        e.socket.destroy()
      }
    },
    /** sockets in the HTTP stage (all addresses) */
    get size(): number {
      return entries.size
    },
    /** distinct addresses holding such sockets */
    get addresses(): number {
      return counts.size
    },
  }
}
