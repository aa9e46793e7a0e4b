/**
 * Which transport the Link's next attempt uses (the `transport` option), and in 'auto' the moves
 * between them, after Engine.IO's upgrade dance:
 *
 * - start on WebSocket; fall back to HTTP (transport-http.ts) when WebSocket fails in a way that
 *   points at the network: FALLBACK_AFTER attempts in a row that closed before opening (1006:
 *   an upgrade refused or stripped by a proxy) or that got no open within the handshake timeout;
 * - while connected over HTTP, probe the plain WebSocket endpoint every `probeMs`; a probe that
 *   opens means WebSocket works again, and the Link reconnects over it. A move is a reconnect of
 *   the Yjs sync, which is idempotent, and the saved tracker re-sends what the server did not
 *   acknowledge: nothing is lost or applied twice (transport.test.ts proves it);
 * - an HTTP attempt that fails before opening too means the server itself is unreachable: the
 *   next attempt tries WebSocket again (it may be back first).
 */
import { type Timer, closeQuietly, detach } from './socket.js'
import type { TransportName, WebSocketLike } from './types.js'

const ignore = (): void => {}

/** WebSocket attempts in a row that must fail before opening before 'auto' tries HTTP. */
const FALLBACK_AFTER = 2

export type TransportMode = 'auto' | TransportName

export interface TransportTiming {
  /** 'auto': a WebSocket attempt not open after this long counts as failed (no 101 from a proxy). */
  handshakeTimeoutMs: number
  /** 'auto' on HTTP: how often to probe for WebSocket. */
  probeMs: number
}

export class TransportChoice {
  private current: TransportName
  private wsFailures = 0
  private handshakeTimer: Timer | undefined
  private probeTimer: Timer | undefined
  private probe: WebSocketLike | null = null

  constructor(
    readonly mode: TransportMode,
    private readonly timing: TransportTiming,
  ) {
    this.current = mode === 'http' ? 'http' : 'websocket'
  }

  /** The transport of the next attempt. */
  get next(): TransportName {
    return this.current
  }

  /** An attempt on `transport` started; `onTimeout` fires if it is a WebSocket in 'auto' that does not open in time. */
  dialing(transport: TransportName, onTimeout: () => void): void {
    this.stopTimers()
    if (this.mode === 'auto' && transport === 'websocket') this.handshakeTimer = setTimeout(onTimeout, this.timing.handshakeTimeoutMs)
  }

  /** The attempt opened. On HTTP in 'auto', `probe` is started every probeMs and `onUpgrade` called once one opens. */
  opened(transport: TransportName, probe: () => WebSocketLike, onUpgrade: () => void): void {
    this.stopTimers()
    if (transport === 'websocket') this.wsFailures = 0
    if (this.mode === 'auto' && transport === 'http') this.scheduleProbe(probe, onUpgrade)
  }

  /**
   * The attempt or connection ended. `networkFailure`: it never opened, and closed with 1006
   * (nothing from the server) or timed out; a server that answered with a close code was reached.
   */
  ended(transport: TransportName, networkFailure: boolean): void {
    this.stopTimers()
    if (this.mode !== 'auto' || !networkFailure) return
    if (transport === 'websocket') {
      if (++this.wsFailures >= FALLBACK_AFTER) this.current = 'http'
    } else {
      this.current = 'websocket'
      this.wsFailures = FALLBACK_AFTER - 1 // one more failure brings HTTP back
    }
  }

  /** Stop every timer and probe. */
  destroy(): void {
    this.stopTimers()
  }

  private scheduleProbe(probe: () => WebSocketLike, onUpgrade: () => void): void {
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined
      let ws: WebSocketLike
      try {
        ws = probe()
      } catch {
        this.scheduleProbe(probe, onUpgrade)
        return
      }
      this.probe = ws
      const failed = () => {
        this.endProbe()
        this.scheduleProbe(probe, onUpgrade)
      }
      // Bounded like an attempt: a proxy that swallows the upgrade never answers.
      this.handshakeTimer = setTimeout(failed, this.timing.handshakeTimeoutMs)
      ws.onclose = failed
      // Heard, not acted on: the close follows. `ws` rethrows an 'error' nobody listens to.
      ws.onerror = ignore
      ws.onopen = () => {
        this.endProbe()
        this.current = 'websocket'
        this.wsFailures = 0
        onUpgrade()
      }
    }, this.timing.probeMs)
  }

  private endProbe(): void {
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer)
    this.handshakeTimer = undefined
    const ws = this.probe
    this.probe = null
    if (ws) {
      detach(ws)
      closeQuietly(ws, 'probe')
    }
  }

  private stopTimers(): void {
    this.endProbe()
    if (this.probeTimer !== undefined) clearTimeout(this.probeTimer)
    this.probeTimer = undefined
  }
}
