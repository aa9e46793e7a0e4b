import { describe, expect, it } from 'vitest'
import type { IncomingMessage } from 'node:http'
import { addressKey, clientAddress, createAdmission } from '../../src/limits/admission.js'

const req = (remoteAddress: string, xff?: string | string[]) =>
  ({ socket: { remoteAddress }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as IncomingMessage

describe('createAdmission', () => {
  it('counts reservations, refuses with the documented statuses, and frees slots exactly once', () => {
    const adm = createAdmission({ connectionsPerIp: 2, connectionsPerRoom: 2, rooms: 2 })
    const a1 = adm.admit('ip1', 'a')
    const a2 = adm.admit('ip2', 'a')
    expect(a1.ok && a2.ok).toBe(true)
    expect(adm.admit('ip3', 'a')).toEqual({ ok: false, status: 503, reason: 'room-full' })
    const b1 = adm.admit('ip1', 'b')
    expect(b1.ok).toBe(true)
    expect(adm.admit('ip1', 'b')).toEqual({ ok: false, status: 429, reason: 'too-many-connections-ip' })
    expect(adm.admit('ip3', 'c')).toEqual({ ok: false, status: 503, reason: 'too-many-rooms' })
    if (!b1.ok) throw new Error('unreachable')
    b1.release()
    b1.release() // idempotent: a double release must not free someone else's slot
    expect(adm.rooms).toBe(1)
    expect(adm.admit('ip3', 'c').ok).toBe(true)
    expect(adm.admit('ip4', 'd')).toMatchObject({ ok: false, reason: 'too-many-rooms' })
  })

  it('0 = unlimited', () => {
    const adm = createAdmission({ connectionsPerIp: 0, connectionsPerRoom: 0, rooms: 0 })
    for (let i = 0; i < 1000; i++) expect(adm.admit('ip', `room${i}`).ok).toBe(true)
  })

  it('works out the client address only when the per-address limit is on', () => {
    let asked = 0
    const address = () => (asked++, 'ip')
    const off = createAdmission({ connectionsPerIp: 0, connectionsPerRoom: 0, rooms: 0 })
    const roomsOnly = createAdmission({ connectionsPerIp: 0, connectionsPerRoom: 1, rooms: 0 })
    expect(off.admit(address, 'a').ok).toBe(true)
    expect(roomsOnly.admit(address, 'a').ok).toBe(true)
    expect(roomsOnly.admit(address, 'a')).toMatchObject({ ok: false, reason: 'room-full' })
    expect(asked).toBe(0)
    const perIp = createAdmission({ connectionsPerIp: 1, connectionsPerRoom: 0, rooms: 0 })
    const held = perIp.admit(address, 'a')
    expect(perIp.admit(address, 'b')).toMatchObject({ ok: false, reason: 'too-many-connections-ip' })
    expect(asked).toBe(2)
    if (held.ok) held.release()
    expect(perIp.admit(address, 'b').ok).toBe(true)
  })

  it('maps are emptied when slots are released (no growth from churn)', () => {
    const adm = createAdmission({ connectionsPerIp: 5, connectionsPerRoom: 5, rooms: 5 })
    for (let i = 0; i < 100; i++) {
      const s = adm.admit(`ip${i}`, `room${i}`)
      if (s.ok) s.release()
    }
    expect(adm.clients).toBe(0)
    expect(adm.rooms).toBe(0)
  })
})

describe('clientAddress / addressKey', () => {
  it('ignores X-Forwarded-For unless proxies are trusted', () => {
    expect(clientAddress(req('10.0.0.1', '1.2.3.4'), 0)).toBe('10.0.0.1')
  })

  it('takes the Nth entry from the right for N trusted proxies', () => {
    expect(clientAddress(req('10.0.0.1', 'spoofed, 1.2.3.4'), 1)).toBe('1.2.3.4')
    expect(clientAddress(req('10.0.0.1', 'spoofed, 1.2.3.4, 10.0.0.9'), 2)).toBe('1.2.3.4')
    expect(clientAddress(req('10.0.0.1', ['spoofed', '1.2.3.4']), 1)).toBe('1.2.3.4')
    expect(clientAddress(req('10.0.0.1'), 1)).toBe('10.0.0.1')
  })

  it('normalises IPv4-mapped IPv6 and groups IPv6 by /64', () => {
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1')
    expect(addressKey('2001:db8:a:b:1:2:3:4')).toBe('2001:db8:a:b::/64')
    expect(addressKey('2001:DB8:A:B::99')).toBe('2001:db8:a:b::/64')
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(addressKey('::1')).toBe('0:0:0:0::/64')
    expect(addressKey('[fe80::1%eth0]')).toBe('fe80:0:0:0::/64')
    expect(addressKey('192.0.2.1')).toBe('192.0.2.1')
  })
})
