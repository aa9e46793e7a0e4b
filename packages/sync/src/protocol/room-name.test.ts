import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { ProtocolError, roomFromPath, roomToPath, validateRoomName } from './index.js'

describe('room names', () => {
  it('path → room, percent-decoded, query ignored', () => {
    expect(roomFromPath('/plain')).toBe('plain')
    expect(roomFromPath('/with%20space?token=abc')).toBe('with space')
    expect(roomFromPath('/a/b')).toBe('a/b')
    expect(roomFromPath('/a%2Fb')).toBe('a/b')
    expect(roomFromPath('/%F0%9F%9A%80')).toBe('🚀')
  })

  it('rejects empty, the wildcard "*", control characters, bad encoding and oversized names', () => {
    for (const p of ['/', '/*', '/%2A', '/%2a', '/%00', '/a%0Ab', '/%7F', '/%E0%A4%A', '/%', 'no-slash', '/' + 'é'.repeat(200)]) {
      expect(() => roomFromPath(p), p).toThrow(ProtocolError)
    }
    expect(() => validateRoomName('*')).toThrow(expect.objectContaining({ reason: 'room-reserved' }))
    // Only the name "*" itself is the wildcard: names containing it are ordinary rooms.
    for (const name of ['**', ' *', '*/a', 'a*']) expect(validateRoomName(name)).toBe(name)
  })

  it('roomToPath is the inverse of roomFromPath for every valid name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), (name) => {
        let valid = true
        try {
          validateRoomName(name)
        } catch {
          valid = false
        }
        fc.pre(valid)
        expect(roomFromPath('/' + roomToPath(name))).toBe(name)
      }),
    )
  })
})
