// Wire constants shared by the light client and the frame builders.
//
// y-websocket frame:  [messageType varUint][payload]
// Hocuspocus frame:   [documentName varString][messageType varUint][payload]
//   sync payload:      [syncType varUint][varUint8Array: state vector (step1) | update (step2, update)]
//   awareness payload: [varUint8Array: [count][clientID clock stateJSON]*]
//   Hocuspocus auth:   [2][authType varUint][token varString][providerVersion varString]

export const Msg = Object.freeze({ Sync: 0, Awareness: 1, Auth: 2, QueryAwareness: 3, SyncReply: 4, SyncStatus: 8 })
export const SyncType = Object.freeze({ Step1: 0, Step2: 1, Update: 2 })
export const HpAuth = Object.freeze({ Token: 0, PermissionDenied: 1, Authenticated: 2 })

/** The provider version @hocuspocus/provider 4.7.0 appends to its auth message. */
export const HP_PROVIDER_VERSION = '4.7.0'

/**
 * How a target speaks:
 * - 'yws':   y-websocket protocol, room in the URL path, server sends sync step 1 on connect.
 * - 'hp':    Hocuspocus: every frame prefixed with the document name, auth message first.
 * - 'relay': y-websocket framing over a stateless relay; no handshake (open = synced).
 * - 'mux':   Tandem's tandem-mux-v1: one socket to `/`, several rooms on it as channels (scenario C).
 * @typedef {'yws' | 'hp' | 'relay' | 'mux'} Proto
 */

/** Name of the shared Y.Text every workload edits. */
export const TEXT_NAME = 'text'
