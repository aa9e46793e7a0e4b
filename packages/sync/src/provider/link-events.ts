/**
 * The Link's only way to reach its owner (SyncProvider): callbacks passed at construction.
 */
import type { Frame } from '../protocol/frame.js'
import type { CloseInfo, StatusEvent, TransportName } from './types.js'

/**
 * What the Link reports. Each is called synchronously, state changes first and reports last,
 * so a callback may call connect(), disconnect() or destroy(). A throw from one (an
 * application listener's) escapes the Link method that caused it; from a socket, timer or
 * token callback it goes to listenerFailed instead, never into the event loop.
 */
export interface LinkEvents {
  /**
   * A socket opened. `mayAck`: it offered SAVED_ACK_PROTOCOL and the server did not select
   * another one, so acknowledgements may follow (only the server's hello proves they will).
   * Status becomes 'connected' after this returns, even when it throws.
   */
  opened(mayAck: boolean): void
  /**
   * A well-formed frame other than auth-denied (the Link reports that as a status). Input the
   * owner cannot use goes to protocolViolation; anything it throws is taken for an application
   * listener's error, and the connection stays.
   */
  frame(frame: Frame): void
  /** disconnect() is about to close an open socket: the last frame may be sent now. */
  closing(): void
  /** The connection or attempt ended: the first report of the loss. `wasConnected`: it had opened. */
  ended(wasConnected: boolean): void
  /** The status changed, or (auth-denied) a reason arrived for the current one. */
  status(event: StatusEvent): void
  /** true once markSynced() was called on a connection; false when that connection ends. */
  synced(synced: boolean): void
  /** An attempt or connection failed: the socket's error event, or what caused the Link to give up. */
  error(error: unknown): void
  /** A socket closed: the server's close, or null when the Link closed it itself. */
  closed(close: CloseInfo | null): void
  /** A socket opened over another transport than the last one that opened (the first opens too). */
  transport(transport: TransportName): void
  /** An application listener threw inside a socket, timer or token callback. Must not throw. */
  listenerFailed(error: unknown): void
}
