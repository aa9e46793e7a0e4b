import type { Logger } from '../log.js'
import type { ServerEvents } from '../server.js'
import type { Connection } from '../net/connection.js'
import type { Access } from '../net/upgrade.js'
import { API_ORIGIN } from '../room/tx-origins.js'

/** A change of a room, once it is stored (durable) and relayed to the room's connections. */
export interface ChangeInfo {
  /** the stored rows it spans, by the store's seq (one commit stores one row per room: usually from === to) */
  fromSeq: number
  toSeq: number
  /** who wrote it: the `user` (authenticate) or token `sub` of each writing connection or API request, once each */
  users: string[]
  /** part of it was written through the HTTP API (/api/rooms/…/content or /updates) */
  viaApi: boolean
  /** bytes of the stored update */
  bytes: number
}

/** One WebSocket connection, as onConnect / onDisconnect see it. */
export interface ConnectionInfo {
  /** this server's id for the connection (the same in onConnect and onDisconnect) */
  id: number
  /** authenticate's `user` (or the token's `sub`; undefined on an open server) */
  user: string | undefined
  access: Access
}

type Notify<I> = (room: string, info: I) => void | Promise<void>

export interface EventHooks {
  onChange?: Notify<ChangeInfo>
  onConnect?: Notify<ConnectionInfo>
  onDisconnect?: Notify<ConnectionInfo>
}

/**
 * The notification hooks as the server's observers (server.ts ServerEvents). The server tells an
 * observer synchronously; the observer only schedules the hook (setImmediate), so a hook runs
 * after the commit or the connection's bookkeeping is done, is never awaited, and whatever it
 * throws or rejects with is logged. A hook that never settles holds nothing of the server's.
 */
export function hookEvents(hooks: EventHooks, log: Logger): ServerEvents | undefined {
  const { onChange, onConnect, onDisconnect } = hooks
  if (!onChange && !onConnect && !onDisconnect) return undefined
  const run = <I>(name: string, hook: Notify<I>, room: string, info: I) =>
    setImmediate(() => {
      const failed = (err: unknown) => log.error({ err, room, hook: name }, 'hook failed (ignored)')
      try {
        const r = hook(room, info)
        if (r && typeof r.then === 'function') r.then(undefined, failed)
      } catch (err) {
        failed(err)
      }
    })
  const connectionInfo = (c: Connection): ConnectionInfo => ({ id: c.id, user: c.principal, access: c.access })
  return {
    committed: onChange
      ? (room, c) => {
          const viaApi = c.arrivals.some((a) => a.from?.txOrigin === API_ORIGIN)
          run('onChange', onChange, room.name, { fromSeq: c.seq, toSeq: c.seq, users: c.authors ?? [], viaApi, bytes: c.update.length })
        }
      : undefined,
    connected: onConnect && ((c) => run('onConnect', onConnect, c.room.name, connectionInfo(c))),
    disconnected: onDisconnect && ((c) => run('onDisconnect', onDisconnect, c.room.name, connectionInfo(c))),
  }
}
