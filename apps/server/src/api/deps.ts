import type { IncomingMessage } from 'node:http'
import type { HttpAuthorizer } from '../auth/http-auth.js'
import type { DocStore } from '../store/types.js'
import type { Fanout } from '../fanout/types.js'
import type { Logger } from '../log.js'
import type { RoomRegistry } from '../room/registry.js'
import type { RoomLocks } from './writes.js'
import type { Converter } from '../content/converter.js'
import type { History } from '../history/history.js'

/** What the API's handlers need from the server (routes.ts builds it once). */
export interface ApiDeps {
  registry: RoomRegistry
  store: DocStore
  fanout: Fanout
  log: Logger
  authorizeHttp: HttpAuthorizer
  /** MAX_PAYLOAD_BYTES: the largest body, as the largest frame */
  maxPayloadBytes: number
  /** MAX_UPLOAD_BYTES: the largest image upload */
  maxUploadBytes: number
  /** MAX_ROOM_UPLOAD_BYTES: a room's uploads together (0: uploads off) */
  maxRoomUploadBytes: number
  maxNestingDepth: number
  locks: RoomLocks
  /** the content conversions, off the event loop */
  converter: Converter
  /** who asked, per authorized request (routes.ts `authorize`): the author of what it writes */
  writers: WeakMap<IncomingMessage, string>
  /** version history (absent when the store keeps none) */
  history?: History | undefined
}
