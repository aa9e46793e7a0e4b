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

/** With every limit off nothing is counted: one shared slot, no per-connection object. */
const UNCOUNTED: Admission = Object.freeze({ ok: true as const, release() {} })

/** A held slot: counted under `client` (when per-address limits are on) and `room`. */
class Slot {
  readonly ok = true
  private released = false
  constructor(
    private readonly counts: { perIp: Map<string, number>; perRoom: Map<string, number> },
    private readonly client: string | undefined,
    private readonly room: string,
  ) {}

  release(): void {
    if (this.released) return
    this.released = true
    if (this.client !== undefined) decrement(this.counts.perIp, this.client)
    decrement(this.counts.perRoom, this.room)
  }
}

export function createAdmission(limits: AdmissionLimits) {
  // Entries are deleted when their count drops to 0: the maps hold only live clients and rooms.
  const counts = { perIp: new Map<string, number>(), perRoom: new Map<string, number>() }
  const { perIp, perRoom } = counts
  const counted = limits.connectionsPerIp > 0 || limits.connectionsPerRoom > 0 || limits.rooms > 0

  /** `client` may be a function: the address is then worked out only if a per-address limit is on. */
  function admit(client: string | (() => string), room: string): Admission {
    if (!counted) return UNCOUNTED
    const address = limits.connectionsPerIp > 0 ? (typeof client === 'string' ? client : client()) : undefined
    const ipCount = address === undefined ? 0 : (perIp.get(address) ?? 0)
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
    if (address !== undefined) perIp.set(address, ipCount + 1)
    perRoom.set(room, roomCount + 1)
    return new Slot(counts, address, room)
  }

  return {
    admit,
    /** distinct client addresses holding a slot (0 while the per-address limit is off) */
    get clients() {
      return perIp.size
    },
    /** rooms holding a slot (0 while every limit is off) */
    get rooms() {
      return perRoom.size
    },
  }
}

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
