import { describe, expect, it } from 'vitest'
import { normalizeHref } from './link-href.js'

describe('normalizeHref', () => {
  it('adds https:// to a bare host, mailto: to an address; keeps full and relative targets', () => {
    expect(normalizeHref('example.com')).toBe('https://example.com')
    expect(normalizeHref('  docs.example.com/a?b=c#d ')).toBe('https://docs.example.com/a?b=c#d')
    expect(normalizeHref('localhost:8080/x')).toBe('https://localhost:8080/x')
    expect(normalizeHref('ada@example.com')).toBe('mailto:ada@example.com')
    expect(normalizeHref('http://example.com')).toBe('http://example.com')
    expect(normalizeHref('mailto:a@b.c')).toBe('mailto:a@b.c')
    expect(normalizeHref('tel:+4412345')).toBe('tel:+4412345')
    expect(normalizeHref('/docs')).toBe('/docs')
    expect(normalizeHref('#part')).toBe('#part')
  })

  it('refuses what the server refuses, however spelled, and the empty field', () => {
    for (const bad of ['javascript:alert(1)', 'JavaScript:alert(1)', ' javascript:x', 'java\tscript:x', 'data:text/html,x', 'vbscript:x', 'file:///etc/passwd', '', '   ']) {
      expect(normalizeHref(bad), bad).toBeUndefined()
    }
  })
})
