/**
 * Uploaded files (images: api/uploads.ts), kept in the same store as the documents, per room,
 * content-addressed: `id` is the SHA-256 of the bytes (hex), so the same file uploaded twice to a
 * room is stored once. Deleted with the room (DocStore.deleteRoom). Implementations:
 * sqlite-uploads.ts, postgres-uploads.ts, and the memory store's.
 */

export interface UploadMeta {
  /** sha256 of the bytes, lower-case hex */
  id: string
  /** the media type sniffed from the bytes (image/png, …), never the client's claim */
  type: string
  bytes: number
  width: number | null
  height: number | null
}

export interface StoredUpload extends UploadMeta {
  data: Uint8Array
}

/** `stored`: the room holds it now (`created` false: it did already); `quota`: it would take the room past its quota. */
type PutUploadResult = { stored: true; created: boolean; meta: UploadMeta } | { stored: false; usedBytes: number }

export interface UploadStore {
  /**
   * Stores the upload in the room unless it holds it already, and only while the room's uploads
   * stay within `quotaBytes` together: the check and the write are one transaction under the
   * room's write lock, so concurrent uploads (on any server sharing the store) cannot both pass.
   */
  put(room: string, upload: StoredUpload, quotaBytes: number): Promise<PutUploadResult>
  get(room: string, id: string): Promise<StoredUpload | undefined>
}

/** The memory store's (STORE=memory): same rules, nothing survives a restart. */
export function createMemoryUploads(): UploadStore & { deleteRoom(room: string): void } {
  const rooms = new Map<string, Map<string, StoredUpload>>()
  return {
    put: async (room, upload, quotaBytes) => {
      const held = rooms.get(room) ?? new Map<string, StoredUpload>()
      const existing = held.get(upload.id)
      if (existing) return { stored: true, created: false, meta: metaOf(existing) }
      const used = [...held.values()].reduce((n, u) => n + u.bytes, 0)
      if (used + upload.bytes > quotaBytes) return { stored: false, usedBytes: used }
      held.set(upload.id, { ...upload, data: upload.data.slice() })
      rooms.set(room, held)
      return { stored: true, created: true, meta: metaOf(upload) }
    },
    get: async (room, id) => rooms.get(room)?.get(id),
    deleteRoom: (room) => void rooms.delete(room),
  }
}

export const metaOf = (u: UploadMeta): UploadMeta => ({ id: u.id, type: u.type, bytes: u.bytes, width: u.width, height: u.height })
