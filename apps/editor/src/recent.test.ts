import { describe, expect, it } from 'vitest'
import { readRecent, recentHref, rememberRecent } from './recent.js'

/** A real Storage's contract, in memory (vitest runs in Node here). */
class MemoryStorage implements Storage {
  #m = new Map<string, string>()
  get length() {
    return this.#m.size
  }
  clear() {
    this.#m.clear()
  }
  getItem(k: string) {
    return this.#m.get(k) ?? null
  }
  key(i: number) {
    return [...this.#m.keys()][i] ?? null
  }
  removeItem(k: string) {
    this.#m.delete(k)
  }
  setItem(k: string, v: string) {
    this.#m.set(k, v)
  }
}

describe('recent documents', () => {
  it('newest first, one entry per room and server, at most 20', () => {
    const s = new MemoryStorage()
    rememberRecent({ room: 'a', title: 'A', at: 1 }, s)
    rememberRecent({ room: 'b', title: '', at: 2 }, s)
    rememberRecent({ room: 'a', title: 'A again', at: 3 }, s)
    rememberRecent({ room: 'a', server: 'wss://x', title: 'Other server', at: 4 }, s)
    expect(readRecent(s).map((e) => [e.room, e.server, e.title])).toEqual([
      ['a', 'wss://x', 'Other server'],
      ['a', undefined, 'A again'],
      ['b', undefined, ''],
    ])
    for (let i = 0; i < 30; i++) rememberRecent({ room: `r${i}`, title: '', at: 10 + i }, s)
    expect(readRecent(s)).toHaveLength(20)
    expect(readRecent(s)[0]!.room).toBe('r29')
  })

  it('ignores what it did not write', () => {
    const s = new MemoryStorage()
    s.setItem('tandem:recent', '{not json')
    expect(readRecent(s)).toEqual([])
    s.setItem('tandem:recent', JSON.stringify([{ room: 1 }, { room: 'ok', title: 't', at: 1 }, null]))
    expect(readRecent(s)).toEqual([{ room: 'ok', title: 't', at: 1 }])
  })

  it('links to the room on this page, without name or token', () => {
    expect(recentHref({ room: 'a b', title: '', at: 0 }, 'https://d.example/?room=x&name=Ada&token=t#h')).toBe('https://d.example/?room=a+b')
    expect(recentHref({ room: 'r', server: 'wss://s', title: '', at: 0 }, 'https://d.example/')).toBe('https://d.example/?room=r&server=wss%3A%2F%2Fs')
  })
})
