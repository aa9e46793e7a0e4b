import { describe, expect, it } from 'vitest'
import { randomRoomId, serverUrl, shareLink, toWebSocketUrl } from './location.js'

describe('location', () => {
  it('derives the WebSocket URL from the page: ws for http, wss for https', () => {
    expect(serverUrl(new URL('http://127.0.0.1:1234/?room=a'))).toBe('ws://127.0.0.1:1234')
    expect(serverUrl(new URL('https://docs.example.com/?room=a'))).toBe('wss://docs.example.com')
  })

  it('?server= overrides the page host, then the build-time fallback', () => {
    expect(serverUrl(new URL('http://localhost:5173/?server=ws://127.0.0.1:9000'), 'ws://x')).toBe('ws://127.0.0.1:9000')
    expect(serverUrl(new URL('http://localhost:5173/'), 'ws://127.0.0.1:1234')).toBe('ws://127.0.0.1:1234')
  })

  it('accepts http(s), ws(s) and bare host:port', () => {
    expect(toWebSocketUrl('https://a.example/')).toBe('wss://a.example')
    expect(toWebSocketUrl('http://a.example:8080')).toBe('ws://a.example:8080')
    expect(toWebSocketUrl('127.0.0.1:1234')).toBe('ws://127.0.0.1:1234')
    expect(toWebSocketUrl('a.example', new URL('https://page.example'))).toBe('wss://a.example')
    expect(toWebSocketUrl('wss://a.example/base/')).toBe('wss://a.example/base')
  })

  it('room ids are 12 unambiguous lowercase characters and differ', () => {
    const ids = new Set(Array.from({ length: 50 }, () => randomRoomId()))
    expect(ids.size).toBe(50)
    for (const id of ids) expect(id).toMatch(/^[a-hjkmnp-z2-9]{12}$/)
  })

  it('the share link keeps the room and drops name and token', () => {
    const link = shareLink(new URL('https://h.example/?room=r1&name=Ada&token=secret&server=wss://s#x'), 'r1')
    expect(link).toBe('https://h.example/?room=r1&server=wss%3A%2F%2Fs')
  })
})
