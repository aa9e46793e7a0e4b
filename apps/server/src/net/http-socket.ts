import { EventEmitter } from 'node:events'
import type { Socket as EioSocket } from 'engine.io'
import type { WebSocket } from 'ws'
import { CloseCode, writeHttpClose } from '@tandem/sync'

const OPEN = 1
const CLOSING = 2
const CLOSED = 3

/**
 * An Engine.IO session (HTTP long-polling) dressed as the part of a `ws` WebSocket that
 * `Connection` (net/connection.ts) uses, so a connection over HTTP runs the very same code as
 * one over a WebSocket: the error boundary, rate limits, saved acknowledgements, slow-consumer
 * bound, liveness sweep, token expiry. What differs is only here:
 *
 * - close codes: Engine.IO has none, so close() sends the text message `close <code> <reason>`
 *   (docs/protocol.md "HTTP transport") and then closes the session once its queue is delivered;
 * - bufferedAmount: the bytes queued for this client since its last poll took them. A poller
 *   that stops polling lets it grow, and Connection closes it with 1013 like a WebSocket that
 *   stops reading (its queue is then discarded by the sweep's terminate());
 * - bytesRead (liveness): counts every packet from the client, Engine.IO's pongs included, so
 *   a client that stops polling misses the sweep's check as a silent WebSocket does.
 */
export class HttpSocket extends EventEmitter {
  readonly protocol: string
  readyState = OPEN
  /** bytes handed to Engine.IO and not yet taken by a poll */
  bufferedAmount = 0
  /** packets received (liveness: see Connection.alive) */
  bytesRead = 0

  constructor(
    private readonly eio: EioSocket,
    /** the saved-ack extension, when the handshake asked for it ('' otherwise): as ws.protocol */
    protocol: string,
    private readonly maxPayloadBytes: number,
  ) {
    super()
    this.protocol = protocol
    eio.on('packet', this.onPacket)
    eio.on('message', this.onMessage)
    // 'drain': the queue was written to a poll's response.
    eio.on('drain', this.onDrain)
    eio.once('close', this.onClose)
  }

  /** As `Connection` expects of ws: the WebSocket it can be passed as. */
  asWebSocket(): WebSocket {
    return this as unknown as WebSocket
  }

  send(data: Uint8Array): void {
    if (this.readyState !== OPEN) return
    this.bufferedAmount += data.length
    // Engine.IO wants a Buffer (or ArrayBuffer) to send a binary message; a view of the same bytes.
    this.eio.send(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
  }

  close(code: number, reason: string): void {
    if (this.readyState !== OPEN) return
    this.readyState = CLOSING
    this.eio.send(writeHttpClose(code, reason))
    // Not discarded: the close message goes out with whatever is queued before it.
    this.eio.close()
  }

  terminate(): void {
    this.readyState = CLOSING
    this.eio.close(true)
  }

  /** Engine.IO pings by itself (pingInterval); the sweep reads bytesRead, which its pongs move. */
  ping(): void {}

  private readonly onPacket = (): void => {
    this.bytesRead++
  }

  private readonly onMessage = (data: string | Buffer): void => {
    if (typeof data !== 'string' && data.length > this.maxPayloadBytes) {
      // As ws reports a frame past maxPayload: counted by Connection.onError, then 1009.
      const err = Object.assign(new Error('message too big'), { code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' })
      this.emit('error', err)
      this.close(CloseCode.MessageTooBig, 'too-big')
      return
    }
    this.emit('message', data, typeof data !== 'string')
  }

  private readonly onDrain = (): void => {
    this.bufferedAmount = 0
  }

  private readonly onClose = (): void => {
    this.readyState = CLOSED
    this.eio.off('packet', this.onPacket)
    this.eio.off('message', this.onMessage)
    this.eio.off('drain', this.onDrain)
    this.emit('close')
  }
}
