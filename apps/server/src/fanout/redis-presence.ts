import { readAwarenessHeaders, writeAwarenessUpdate } from '@tandem/sync'

interface Owner {
  sender: string
  clock: number
}

/**
 * Which server introduced each remote client's presence, per room, so that when a server dies
 * its clients' carets can be removed everywhere instead of lingering until y-protocols' 30 s
 * timeout. Only other servers' awareness updates are tracked.
 */
export class PresenceLedger {
  private readonly rooms = new Map<string, Map<number, Owner>>()

  /** Records an awareness update `sender` published in `room` (malformed updates are ignored: the room rejects them itself). */
  track(room: string, sender: string, update: Uint8Array): void {
    let headers
    try {
      headers = readAwarenessHeaders(update)
    } catch {
      return
    }
    let owners = this.rooms.get(room)
    if (!owners) {
      owners = new Map()
      this.rooms.set(room, owners)
    }
    for (const h of headers) {
      if (h.isNull) owners.delete(h.clientID)
      else owners.set(h.clientID, { sender, clock: h.clock })
    }
    if (owners.size === 0) this.rooms.delete(room)
  }

  /**
   * Forgets every client `sender` introduced and returns, per room, an awareness update removing
   * them AT THE CLOCK LAST SEEN (y-protocols applies a null state with an equal clock as a
   * removal). A client that has since reconnected elsewhere has a newer clock, so its old
   * server's obituary is ignored and a live client is never removed.
   */
  takeFrom(sender: string): Map<string, Uint8Array> {
    const removals = new Map<string, Uint8Array>()
    for (const [room, owners] of this.rooms) {
      const gone = [...owners].filter(([, o]) => o.sender === sender)
      if (gone.length === 0) continue
      for (const [clientID] of gone) owners.delete(clientID)
      if (owners.size === 0) this.rooms.delete(room)
      removals.set(room, writeAwarenessUpdate(gone.map(([clientID, o]) => ({ clientID, clock: o.clock, state: null }))))
    }
    return removals
  }

  dropRoom(room: string): void {
    this.rooms.delete(room)
  }

  clear(): void {
    this.rooms.clear()
  }
}
