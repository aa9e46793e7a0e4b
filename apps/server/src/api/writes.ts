import { CloseCode, ProtocolError } from '@tandem/sync'
import type { Room } from '../room/room.js'
import { API_ORIGIN } from '../room/tx-origins.js'
import type { UpdateSender } from '../update/commit.js'
import type { RowEvent } from '../store/outbox.js'
import { ApiError } from './http.js'

/**
 * How the API writes: as an update of the room's update path, like a client edit (inspected,
 * budgeted, integrated through the gate, stored before relayed; docs/architecture.md), with the
 * API as its transaction origin. The answer waits for the row to be stored.
 */

/**
 * One API write at a time per room on this server, from its check to its stored row: a check and
 * the write it guards are never split by another API write here. (Across servers, and against
 * client edits, the store decides: conditional writes carry the seq they were checked against.)
 */
export function createRoomLocks() {
  const tails = new Map<string, Promise<unknown>>()
  return {
    async run<T>(room: string, fn: () => Promise<T>): Promise<T> {
      const run = (tails.get(room) ?? Promise.resolve()).then(fn)
      const tail = run.catch(() => {})
      tails.set(room, tail)
      try {
        return await run
      } finally {
        if (tails.get(room) === tail) tails.delete(room)
      }
    },
  }
}

export type RoomLocks = ReturnType<typeof createRoomLocks>

/**
 * Submits `update` to the room's update path, written by `author` (undefined: unknown), and
 * resolves once its row is stored and relayed,
 * with the row's seq: 0 when the store refused it because the room is no longer at `expect`
 * (nothing stored), undefined when the update holds nothing to store. Rejects with an ApiError
 * when the update path refuses the update (what would close a connection).
 */
export function submitUpdate(room: Room, update: Uint8Array, expect?: number, author?: string, event?: RowEvent): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    let settled = false
    const once = (fn: () => void) => {
      if (settled) return
      settled = true
      fn()
    }
    // The API as the sender the update path talks to: a refusal closes it, as it closes a socket.
    const from: UpdateSender = {
      txOrigin: API_ORIGIN,
      acks: undefined,
      // the request's token `sub` (or the library hook's user): webhooks and history say who wrote
      author,
      // Our sync step 1, after a part of the update was parked: the API has nothing more to send.
      send: () => {},
      close: (code, reason) => once(() => reject(refusal(code, reason, reason))),
    }
    try {
      if (!room.submit(update, from, { expect, stored: (seq) => once(() => resolve(seq)), event })) once(() => resolve(undefined))
    } catch (err) {
      once(() => reject(err instanceof ProtocolError ? refusal(err.closeCode, err.reason, err.message) : err instanceof Error ? err : new Error(String(err))))
    }
  })
}

/** What closes a connection, as an HTTP answer. */
export function refusal(code: number, reason: string, message: string): ApiError {
  switch (code) {
    case CloseCode.DocTooLarge:
      return new ApiError(413, reason, `the update would take the room past MAX_DOC_STRUCTS or MAX_DOC_BYTES: ${message}`)
    case CloseCode.InvalidPayload:
    case CloseCode.PolicyViolation:
      return new ApiError(400, reason, message)
    case CloseCode.PendingUnresolved:
      return new ApiError(409, 'missing-dependencies', 'the update depends on changes the room does not have; nothing of it was stored')
    case CloseCode.RoomDeleted:
      return new ApiError(409, 'room-deleted', 'the room was deleted while the update was being written')
    case CloseCode.InternalError:
      return new ApiError(503, 'not-stored', `the update could not be stored (${message}); retry`)
    default:
      return new ApiError(500, 'internal', message)
  }
}
