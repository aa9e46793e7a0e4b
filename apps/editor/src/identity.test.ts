import { describe, expect, it } from 'vitest'
import { PALETTE, cleanName, colorForName, generateName, initials, isValidColor, resolveUser } from './identity.js'

/** A Map-backed Storage: enough of the interface for identity.ts. */
function memoryStorage(): Storage {
  const m = new Map<string, string>()
  return {
    get length() {
      return m.size
    },
    clear: () => m.clear(),
    getItem: (k) => m.get(k) ?? null,
    key: (i) => [...m.keys()][i] ?? null,
    removeItem: (k) => void m.delete(k),
    setItem: (k, v) => void m.set(k, String(v)),
  }
}

describe('identity', () => {
  it('palette colours are all #rrggbb (CollaborationCaret renders anything else transparent)', () => {
    for (const c of PALETTE) expect(isValidColor(c)).toBe(true)
    expect(isValidColor('red')).toBe(false)
    expect(isValidColor('#fff')).toBe(false)
  })

  it('gives the same name the same colour', () => {
    expect(colorForName('Ada')).toBe(colorForName('Ada'))
    expect(PALETTE).toContain(colorForName('Ada'))
  })

  it('generates friendly two-word names', () => {
    for (let i = 0; i < 20; i++) expect(generateName()).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+$/)
  })

  it('cleans names: trims, collapses whitespace, caps length', () => {
    expect(cleanName('  Ada \n  Lovelace ')).toBe('Ada Lovelace')
    expect(cleanName('x'.repeat(100))).toHaveLength(40)
    expect(cleanName(undefined)).toBe('')
  })

  it('initials', () => {
    expect(initials('Curious Otter')).toBe('CO')
    expect(initials('ada')).toBe('A')
    expect(initials('   ')).toBe('?')
    expect(initials('Ada (embed)')).toBe('AE')
    expect(initials('élodie ünal')).toBe('ÉÜ')
  })

  it('?name= wins, else the remembered identity, else a generated one that is then remembered', () => {
    const storage = memoryStorage()
    const generated = resolveUser(null, storage)
    expect(generated.name).toMatch(/ /)
    expect(resolveUser(null, storage)).toEqual(generated)
    const fromParam = resolveUser('Zed', storage)
    expect(fromParam).toEqual({ name: 'Zed', color: colorForName('Zed') })
    expect(resolveUser(null, storage)).toEqual(fromParam)
  })

  it('keeps a remembered colour for the same name, and survives broken storage', () => {
    const storage = memoryStorage()
    storage.setItem('tandem:user', JSON.stringify({ name: 'Ada', color: '#123456' }))
    expect(resolveUser('Ada', storage)).toEqual({ name: 'Ada', color: '#123456' })
    storage.setItem('tandem:user', '{not json')
    expect(resolveUser('Ada', storage).color).toBe(colorForName('Ada'))
    const throwing = { getItem: () => { throw new Error('denied') }, setItem: () => { throw new Error('denied') } } as unknown as Storage
    expect(resolveUser('Ada', throwing).name).toBe('Ada')
  })
})
