import { writeSyncUpdate } from '@tandem/sync'
import type { RoomCommit, UpdateSender } from './commit.js'

/**
 * Stage 4 of the update path: a stored row goes to the room's peers as ONE frame per commit, the
 * same bytes for every receiver whatever the number of updates merged into it (fewer syscalls
 * and frames; Hocuspocus merges per event-loop turn too). The frame it arrived in is reused when
 * it holds exactly the stored row (encode once). A lone sender never gets its own update back.
 * When several connections wrote in the same turn, each gets the room's frame, its own update
 * included: applying that is a no-op for a Yjs client, and it saves a merge and an encode per writer.
 * A row that also carries parked parts that just resolved goes to everyone: the sender lacks them too.
 */
export function relay(c: RoomCommit, broadcast: (frame: Uint8Array, except: UpdateSender | undefined) => void): void {
  const sender = c.arrivals[0]?.from
  let alone = sender !== undefined && !c.resolved
  for (let i = 1; i < c.arrivals.length && alone; i++) if (c.arrivals[i]!.from !== sender) alone = false
  broadcast(c.frame ?? writeSyncUpdate(c.update), alone ? sender : undefined)
}
