import type { RoomContext } from './context.js'
import { Room } from './room.js'
import { loadStoredState } from './stored-state.js'

/**
 * Builds a room from its stored state, healed on the way (stored-state.ts): rows that cannot be
 * integrated are quarantined and never stop the room from opening.
 */
export async function loadRoom(name: string, ctx: RoomContext): Promise<Room> {
  const state = await loadStoredState(name, ctx)
  const room = new Room(name, ctx, state)
  // Make the healing stick: the next load starts from a clean snapshot.
  if (state.healed) room.compactSoon()
  return room
}
