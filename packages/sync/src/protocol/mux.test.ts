import { describe, expect, it } from 'vitest'
import { ProtocolError } from './errors.js'
import { MUX_KEEPALIVE, muxPrefix, readMuxControl, readMuxHeader, writeMuxClosed, writeMuxOpen, writeMuxOpened } from './mux.js'

const control = (bytes: Uint8Array) => {
  const { channel, offset } = readMuxHeader(bytes)
  expect(channel).toBe(0)
  return readMuxControl(bytes, offset)
}

const reason = (f: () => unknown): string => {
  try {
    f()
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError)
    expect((err as ProtocolError).closeCode).toBe(1007)
    return (err as ProtocolError).reason
  }
  throw new Error('did not throw')
}

describe('mux envelope (tandem-mux-v1)', () => {
  it('control messages round-trip', () => {
    expect(control(writeMuxOpen(7, 'a/ü', 'tok'))).toEqual({ op: 'open', channel: 7, room: 'a/ü', token: 'tok' })
    expect(control(writeMuxOpened(65535, 'read'))).toEqual({ op: 'opened', channel: 65535, access: 'read' })
    expect(control(writeMuxClosed(3, 4001, 'token expired'))).toEqual({ op: 'closed', channel: 3, code: 4001, reason: 'token expired' })
    expect(control(MUX_KEEPALIVE)).toEqual({ op: 'keepalive' })
  })

  it('a channel frame: the prefix, then the frame where the offset says', () => {
    const prefix = muxPrefix(300)
    const bytes = new Uint8Array([...prefix, 0, 2, 0])
    expect(readMuxHeader(bytes)).toEqual({ channel: 300, offset: prefix.length })
  })

  it('hostile envelopes are 1007 with a reason: channel out of range, empty, truncated, trailing, unknown op, channel 0 in a control, bad access, a huge token', () => {
    expect(reason(() => readMuxHeader(muxPrefix(65536)))).toBe('mux-channel')
    expect(reason(() => readMuxHeader(muxPrefix(5)))).toBe('mux-empty')
    expect(reason(() => readMuxHeader(new Uint8Array([0x80])))).toBe('truncated')
    expect(reason(() => readMuxHeader(new Uint8Array(Array(9).fill(0xff))))).toBe('varint-range')
    expect(reason(() => control(new Uint8Array([...writeMuxOpened(1, 'write'), 0])))).toBe('trailing')
    expect(reason(() => control(new Uint8Array([0, 9])))).toBe('mux-op')
    expect(reason(() => control(writeMuxOpen(0, 'r', '')))).toBe('mux-channel')
    expect(reason(() => control(new Uint8Array([0, 1, 1, 2])))).toBe('mux-access')
    expect(reason(() => control(writeMuxOpen(1, 'r', 'x'.repeat(9000))))).toBe('mux-token')
    expect(reason(() => control(new Uint8Array([0, 0, 1, 5, 0x61])))).toBe('truncated')
  })
})
