import { isIPv6 } from 'node:net'
import type { IncomingMessage } from 'node:http'

/**
 * Upgrade-time limits: connections per client address, connections per room, rooms per server.
 * Checked in server.on('upgrade') after authentication and BEFORE the room is loaded or the
 * socket opens, so a refusal costs one HTTP response and no memory. 0 = unlimited.
 *
 * A slot is reserved synchronously by admit() and held until release(), so concurrent upgrades
 * cannot all pass the check and then overshoot it together while the room loads.
 */
export interface AdmissionLimits {
  connectionsPerIp: number
  connectionsPerRoom: number
  /** rooms with at least one connection (open or being opened) */
  rooms: number
}

export type Admission =
  | { ok: true; release(): void }
  | { ok: false; status: number; reason: 'too-many-connections-ip' | 'room-full' | 'too-many-rooms' }

export function createAdmission(limits: AdmissionLimits) {
  // Entries are deleted when their count drops to 0: the maps hold only live clients and rooms.
  const perIp = new Map<string, number>()
  const perRoom = new Map<string, number>()

  function admit(client: string, room: string): Admission {
    const ipCount = perIp.get(client) ?? 0
    // 429: this client is asking too much. 503: the server (or room) is full for everyone.
    if (limits.connectionsPerIp > 0 && ipCount >= limits.connectionsPerIp) {
      return { ok: false, status: 429, reason: 'too-many-connections-ip' }
    }
    const roomCount = perRoom.get(room) ?? 0
    if (roomCount === 0 && limits.rooms > 0 && perRoom.size >= limits.rooms) {
      return { ok: false, status: 503, reason: 'too-many-rooms' }
    }
    if (limits.connectionsPerRoom > 0 && roomCount >= limits.connectionsPerRoom) {
      return { ok: false, status: 503, reason: 'room-full' }
    }
    perIp.set(client, ipCount + 1)
    perRoom.set(room, roomCount + 1)
    let released = false
    return {
      ok: true,
      release() {
        if (released) return
        released = true
        decrement(perIp, client)
        decrement(perRoom, room)
      },
    }
  }

  return {
    admit,
    /** distinct client addresses holding a slot */
    get clients() {
      return perIp.size
    },
    /** rooms holding a slot */
    get rooms() {
      return perRoom.size
    },
  }
}

export type AdmissionControl = ReturnType<typeof createAdmission>

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1
  if (n <= 0) map.delete(key)
  else map.set(key, n)
}

/**
 * The address a per-client limit is keyed on.
 *
 * `trustedProxies` = how many reverse proxies stand in front of the server (TRUST_PROXY). Each
 * appends the address it received the request from to X-Forwarded-For, so the client is the
 * Nth entry from the right; entries further left were written by the client and are ignored
 * (trusting the leftmost entry lets anyone pick their own "address" and dodge the limit).
 * With 0 (the default) X-Forwarded-For is ignored entirely.
 *
 * IPv6 clients are grouped by /64: one subscriber usually holds a whole /64 and could otherwise
 * open the per-address limit once per address in it.
 */
export function clientAddress(req: IncomingMessage, trustedProxies: number): string {
  let address = req.socket.remoteAddress ?? 'unknown'
  if (trustedProxies > 0) {
    const header = req.headers['x-forwarded-for']
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    if (hops.length > 0) address = hops[Math.max(0, hops.length - trustedProxies)]!
  }
  return addressKey(address)
}

export function addressKey(address: string): string {
  const a = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '').toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a)
  if (mapped) return mapped[1]!
  if (!isIPv6(a)) return a
  const [head = '', tail] = a.split('::')
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t]
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`
}
