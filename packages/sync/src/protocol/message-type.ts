/**
 * Tandem speaks y-websocket's wire protocol, so every stock Yjs client works unchanged.
 *
 * Wire grammar (every WebSocket message is ONE binary frame; lib0 varUint / varUint8Array):
 *
 *   frame           = varUint(messageType) body
 *   Sync (0)        = varUint(syncType) varUint8Array(payload)
 *                       syncType 0 step1   payload = encoded state vector
 *                       syncType 1 step2   payload = Yjs update (v1) the receiver is missing
 *                       syncType 2 update  payload = Yjs update (v1)
 *   Awareness (1)   = varUint8Array(awarenessUpdate)
 *                       awarenessUpdate = varUint(n) n × { varUint(clientID) varUint(clock) varString(JSON state) }
 *   Auth (2)        = varUint(authType) varString(reason)     authType 0 = permission denied
 *   QueryAwareness (3) = (empty)                              → answered with the full Awareness (1)
 *
 * Tandem extension, only ever sent to a client that offered the WebSocket subprotocol
 * SAVED_ACK_PROTOCOL (so a stock y-websocket client never receives it):
 *   Saved (4)       = varUint(count)   server → client: the first `count` document-update messages
 *                     (sync step 2 / update) this client sent on this connection are durably
 *                     stored (or carried nothing new). Cumulative, monotonic, per connection.
 *                     The server sends Saved(0) right after the upgrade: proof it speaks the
 *                     extension (a ws-based server that merely echoes the subprotocol never does).
 *
 * Invariants the readers enforce (a violation is a ProtocolError with close code 1007):
 *   - a frame is consumed exactly: no truncated field, no trailing byte;
 *   - varUints fit in 53 bits; lengths never point past the end of the frame;
 *   - message and sync types are known ones;
 *   - updates and awareness JSON are validated by `validateUpdate` / `readAwarenessUpdate`
 *     before anything is applied (a truncated v1 update can otherwise half-apply).
 * The client (SyncProvider) reads awareness entry by entry instead (provider/input.ts
 * `readAwarenessGuarded`): an entry whose client id or clock is past 2^53 − 1, or whose state
 * is not UTF-8 JSON nested at most 64 deep, is dropped alone; only broken framing is a 1007.
 */
export const MessageType = {
  Sync: 0,
  Awareness: 1,
  Auth: 2,
  QueryAwareness: 3,
  Saved: 4,
} as const
export type MessageType = (typeof MessageType)[keyof typeof MessageType]

export const SyncType = {
  Step1: 0,
  Step2: 1,
  Update: 2,
} as const
export type SyncType = (typeof SyncType)[keyof typeof SyncType]

export const AuthType = {
  PermissionDenied: 0,
} as const

/** Names used in metrics and logs; index = MessageType. */
export const messageTypeName = ['sync', 'awareness', 'auth', 'query-awareness', 'saved'] as const

/** WebSocket subprotocol a client offers to receive Saved acknowledgements. */
export const SAVED_ACK_PROTOCOL = 'tandem-saved-v1'
