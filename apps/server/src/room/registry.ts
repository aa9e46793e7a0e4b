import { CloseCode } from '@tandem/sync'
import type { FanoutDelivery } from '../fanout/types.js'
import type { RoomContext } from './context.js'
import { loadRoom } from './loader.js'
import type { Room } from './room.js'

interface Slot {
  /** connections, pending upgrades and API readers holding the room */
  refs: number
  loading: Promise<Room>
  room: Room | undefined
  /** set while unloading; acquirers wait for it, then load afresh */
  unloading: Promise<void> | undefined
}

/**
 * Rooms in memory. A room is loaded ONCE even when many clients join at the same moment
 * (single-flight), and unloaded only when its last holder is gone AND its writes have
 * settled (committed, snapshotted). Unloading drops every reference: memory returns to baseline.
 */
export function createRoomRegistry(ctx: RoomContext) {
  const slots = new Map<string, Slot>()

  // The fan-out may have lost messages for these rooms (Redis outage, a peer died between commit
  // and publish): catch them up from the store. A room still loading catches up once loaded.
  const catchUp = (room: Room) =>
    room.catchUpFromStore().catch((err) => ctx.log.error({ err, room: room.name }, 'catch-up from the store failed'))
  const stopResync = ctx.fanout.onResync?.((names) => {
    for (const name of names) {
      const slot = slots.get(name)
      if (slot?.room) void catchUp(slot.room)
      else if (slot) void slot.loading.then(catchUp, () => {})
    }
  })

  async function open(name: string): Promise<Room> {
    // Subscribe BEFORE reading the store: an update another server commits meanwhile arrives
    // through the fan-out instead of falling between the two. Early messages are replayed.
    let room: Room | undefined
    let early: FanoutDelivery[] | undefined = []
    await ctx.fanout.subscribe(name, (msg) => {
      // Another server deleted the room: drop ours too, and what we stored for it since.
      if (msg.kind === 'deleted') void removeDeleted(name)
      else if (room) room.receiveFanout(msg)
      else early?.push(msg)
    })
    try {
      const loaded = await loadRoom(name, ctx)
      for (const msg of early) loaded.receiveFanout(msg)
      early = undefined
      room = loaded
      // A log left long by a crash is folded now, so the next restart does not replay it again.
      loaded.compactIfDue()
      ctx.metrics.rooms.inc()
      return loaded
    } catch (err) {
      early = undefined
      await ctx.fanout.unsubscribe(name).catch(() => {})
      throw err
    }
  }

  async function acquire(name: string): Promise<Room> {
    for (;;) {
      const slot = slots.get(name)
      if (slot?.unloading) {
        await slot.unloading
        continue
      }
      if (slot) {
        slot.refs++
        try {
          return await slot.loading
        } catch (err) {
          slot.refs--
          throw err
        }
      }
      const fresh: Slot = { refs: 1, loading: open(name), room: undefined, unloading: undefined }
      slots.set(name, fresh)
      try {
        fresh.room = await fresh.loading
        return fresh.room
      } catch (err) {
        fresh.refs--
        if (slots.get(name) === fresh) slots.delete(name)
        throw err
      }
    }
  }

  function release(room: Room): void {
    const slot = slots.get(room.name)
    if (!slot || slot.room !== room) return
    slot.refs--
    if (slot.refs === 0 && !slot.unloading) slot.unloading = unload(slot, room)
  }

  async function unload(slot: Slot, room: Room): Promise<void> {
    try {
      await ctx.committer.flushed()
      if (room.needsSnapshot) await room.compact()
    } catch (err) {
      // The log rows are still there; the next load replays them.
      ctx.log.error({ err, room: room.name }, 'snapshot on unload failed')
    }
    await ctx.fanout.unsubscribe(room.name).catch((err) => ctx.log.warn({ err, room: room.name }, 'fan-out unsubscribe failed'))
    room.destroy()
    slots.delete(room.name)
    ctx.metrics.rooms.dec()
  }

  /**
   * Deletes a room (DELETE /api/rooms/<room>): `shut` closes its connections (and any upgrade
   * joining it meanwhile), what is queued for it is committed, the room is dropped WITHOUT a
   * snapshot, and then the store removes everything it holds. Acquirers wait meanwhile and then
   * load the room afresh: empty.
   */
  async function remove(name: string, shut: (room: Room) => void, opts: { fromStore: boolean } = { fromStore: true }): Promise<void> {
    for (let slot = slots.get(name); slot?.unloading; slot = slots.get(name)) await slot.unloading.catch(() => {})
    const slot = slots.get(name)
    if (!slot) return opts.fromStore ? ctx.store.deleteRoom(name) : undefined
    const removing = (async () => {
      const room = await slot.loading.catch(() => undefined)
      try {
        if (room) shut(room)
        await ctx.committer.flushed()
        room?.destroy()
        // A snapshot already being written finishes first (a destroyed room starts none), so it
        // cannot land after the deletion.
        await room?.compact().catch(() => {})
        if (opts.fromStore) await ctx.store.deleteRoom(name)
      } finally {
        await ctx.fanout.unsubscribe(name).catch((err) => ctx.log.warn({ err, room: name }, 'fan-out unsubscribe failed'))
        if (slots.get(name) === slot) slots.delete(name)
        if (room) ctx.metrics.rooms.dec()
      }
    })()
    slot.unloading = removing
    return removing
  }

  /**
   * A room another server deleted: its connections here close with 4404 and it is dropped
   * without a snapshot (which would store its old content again). The store is left alone: by
   * the time this arrives, a new room of that name may have been written. What this server
   * committed between the deletion and this message stays stored (docs/protocol.md).
   */
  function removeDeleted(name: string): Promise<void> {
    ctx.log.info({ room: name }, 'room deleted on another server; closing its connections here')
    return remove(name, (room) => room.shut(CloseCode.RoomDeleted, 'room deleted'), { fromStore: false }).catch((err: unknown) =>
      ctx.log.error({ err, room: name }, 'removing a room deleted on another server failed'),
    )
  }

  return {
    acquire,
    release,
    remove,
    /** The room if it is loaded on this server (not loading it). */
    peek(name: string): Room | undefined {
      return slots.get(name)?.room
    },
    get size() {
      return slots.size
    },
    rooms(): Room[] {
      return [...slots.values()].flatMap((s) => (s.room ? [s.room] : []))
    },
    /** Waits for every unload under way (used by shutdown and tests). */
    async settled(): Promise<void> {
      await Promise.all([...slots.values()].flatMap((s) => (s.unloading ? [s.unloading] : [])))
    },
    /** Shutdown: flush, snapshot and drop every room regardless of holders. */
    async closeAll(): Promise<void> {
      stopResync?.()
      await ctx.committer.flushed()
      await Promise.all(
        [...slots.values()].map(async (slot) => {
          if (slot.unloading) return slot.unloading
          const room = slot.room ?? (await slot.loading.catch(() => undefined))
          if (!room) return
          slot.unloading = unload(slot, room)
          return slot.unloading
        }),
      )
    },
  }
}

export type RoomRegistry = ReturnType<typeof createRoomRegistry>
