/**
 * The Link on its own, with no provider: what it reports through LinkEvents, in which order.
 * SyncProvider's behaviour over it is tested in lifecycle, sync, reconnecting and the others.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { SAVED_ACK_PROTOCOL } from '../protocol/message-type.js'
import { type Frame, writeAuthDenied, writeQueryAwareness } from '../protocol/frame.js'
import { Link, type LinkEvents } from './link.js'
import { FakeWebSocket, lastSocket, useFakeSockets } from './testing/fake-socket.js'

useFakeSockets()

const links: Link[] = []
afterEach(() => {
  for (const link of links.splice(0)) link.destroy()
})

/** LinkEvents that record every report as one line. */
function recorder(overrides: Partial<LinkEvents> = {}): { events: LinkEvents; log: string[] } {
  const log: string[] = []
  const events: LinkEvents = {
    opened: (mayAck) => log.push(`opened mayAck=${mayAck}`),
    frame: (frame: Frame) => log.push(`frame ${frame.type}`),
    closing: () => log.push('closing'),
    ended: (wasConnected) => log.push(`ended wasConnected=${wasConnected}`),
    status: (e) => log.push(`status ${e.status}${e.reason === undefined ? '' : ` (${e.reason})`}`),
    synced: (synced) => log.push(`synced ${synced}`),
    error: (error) => log.push(`error ${(error as Error).message}`),
    closed: (close) => log.push(`closed ${close === null ? 'by the link' : close.code}`),
    transport: () => {},
    listenerFailed: (error) => log.push(`listenerFailed ${(error as Error).message}`),
    ...overrides,
  }
  return { events, log }
}

function makeLink(events: LinkEvents): Link {
  const link = new Link({ url: 'ws://server.test', room: 'room', WebSocket: FakeWebSocket, transport: 'websocket', initialBackoffMs: 100 }, events)
  links.push(link)
  return link
}

describe('Link', () => {
  it('reports an attempt, its frames and its end in order, and retries', () => {
    const { events, log } = recorder()
    const link = makeLink(events)
    expect(log).toEqual([]) // constructing does not connect
    link.connect()
    const ws = lastSocket()
    expect(ws.url).toBe('ws://server.test/room')
    ws.open()
    ws.receive(writeQueryAwareness())
    ws.receive(writeAuthDenied('read-only'))
    link.markSynced()
    expect(link.denied).toBe(true)
    ws.serverClose(1006)
    expect(log).toEqual([
      'status connecting',
      'opened mayAck=true', // offered SAVED_ACK_PROTOCOL; the fake has no `protocol` to refuse it with
      'status connected',
      'frame query-awareness',
      'status connected (read-only)',
      'synced true',
      'ended wasConnected=true',
      'synced false',
      'closed 1006',
      'status disconnected (read-only)',
    ])
    expect(link.status).toBe('disconnected')
  })

  it('offers the saved-acks subprotocol only when asked to', () => {
    const offered: (string | string[] | undefined)[] = []
    class Recording extends FakeWebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url)
        offered.push(protocols)
      }
    }
    const { events } = recorder()
    links.push(new Link({ url: 'ws://a.test', room: 'r', WebSocket: Recording }, events))
    links.push(new Link({ url: 'ws://b.test', room: 'r', WebSocket: Recording, savedAcks: false }, events))
    for (const link of links) link.connect()
    expect(offered).toEqual([SAVED_ACK_PROTOCOL, undefined])
  })

  it('lets its owner send last words before disconnect() closes an open socket', () => {
    const sent: string[] = []
    const { events, log } = recorder({ closing: () => sent.push(String(link.send(writeQueryAwareness()))) })
    const link = makeLink(events)
    link.connect()
    lastSocket().open()
    link.disconnect()
    expect(sent).toEqual(['true'])
    expect(lastSocket().sent).toHaveLength(1)
    expect(lastSocket().closedWith).toMatchObject({ code: 1000, reason: 'disconnect() called' })
    expect(log.at(-1)).toBe('status disconnected (disconnect() called)')
  })

  it('hands a throw from a callback inside a socket handler to listenerFailed, keeping the connection', () => {
    const { events, log } = recorder({
      frame: () => {
        throw new Error('listener bug')
      },
    })
    const link = makeLink(events)
    link.connect()
    lastSocket().open()
    expect(() => lastSocket().receive(writeQueryAwareness())).not.toThrow()
    expect(log.at(-1)).toBe('listenerFailed listener bug')
    expect(link.status).toBe('connected')
  })
})
