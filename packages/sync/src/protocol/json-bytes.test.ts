import { describe, expect, it } from 'vitest'
import { JSON_INVALID, JSON_OK, JSON_TOO_DEEP, MAX_JSON_DEPTH, checkJsonUtf8, isJsonUtf8 } from './json-bytes.js'

// The reference: what a y-protocols client does with an awareness state (lib0's decoder, then
// JSON.parse), plus the depth rule measured on the text that JSON.parse accepted.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
function reference(bytes: Uint8Array): boolean {
  let text: string
  try {
    text = decoder.decode(bytes)
    JSON.parse(text)
  } catch {
    return false
  }
  return textDepth(text) <= MAX_JSON_DEPTH
}

/**
 * The deepest nesting of [ and { in a valid JSON text, outside strings. On the text, not the parsed
 * value: JSON.parse keeps only the last of duplicate keys, so a deep value under a repeated key
 * would not show in the object, yet every receiver's parser still has to descend into it.
 */
function textDepth(text: string): number {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (inString) {
      if (ch === '\\') i++
      else if (ch === '"') inString = false
    } else if (ch === '"') inString = true
    else if (ch === '[' || ch === '{') max = Math.max(max, ++depth)
    else if (ch === ']' || ch === '}') depth--
  }
  return max
}

const utf8 = (s: string) => new TextEncoder().encode(s)

/** A small deterministic PRNG, so a failure names a reproducible seed. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const SAMPLES = [
  '{"user":{"name":"Ann","color":"#e91e63"},"cursor":{"anchor":{"type":{"client":1,"clock":2},"tname":null,"item":null,"assoc":0},"head":null}}',
  '[1,-0,0.5,1e10,-2.5E-3,true,false,null,"a\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00",[],{}]',
  ' \t\r\n{"ü":"日本語 🎉","nested":[[[[{"k":[]}]]]]} ',
  '"just a string"',
  '0',
  '{"a":1,"b":[1,2,{"c":"d"}],"e":{"f":{"g":null}}}',
]

/** Bytes worth inserting: JSON punctuation, escapes, digits, control bytes, UTF-8 lead/continuation/invalid bytes. */
const INTERESTING = [...utf8('{}[]",:\\/-+.eEtfnu0123456789abcdefABCDEF \t\r\n'), 0x00, 0x1f, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x9f, 0x90, 0x8f]

function mutate(src: Uint8Array, next: () => number): Uint8Array {
  const out = [...src]
  const edits = 1 + Math.floor(next() * 3)
  for (let k = 0; k < edits; k++) {
    const at = Math.floor(next() * (out.length + 1))
    const r = next()
    const byte = next() < 0.7 ? INTERESTING[Math.floor(next() * INTERESTING.length)]! : Math.floor(next() * 256)
    if (r < 0.4) out.splice(at, 0, byte)
    else if (r < 0.7) out.splice(at, 1)
    else if (r < 0.9) out[Math.min(at, out.length - 1)] = byte
    else out.length = at // truncation
  }
  return new Uint8Array(out)
}

describe('isJsonUtf8', () => {
  it('accepts exactly what JSON.parse accepts after a fatal UTF-8 decode, on handwritten cases', () => {
    const cases = [
      ...SAMPLES,
      '', ' ', '{', '}', '[', ']', '[1,]', '{"a":1,}', '{,}', '{"a"}', '{"a":}', '{a:1}', "{'a':1}", '01', '-', '1.', '.5', '1e', '1e+', '+1', '--1',
      'tru', 'nul', 'truex', 'true false', '"\\x"', '"\\u12"', '"\\u12G4"', '"\t"', '"a', 'null null', '[1 2]', '{"a":1 "b":2}', '﻿{}', ' {} ',
      '{"a":[1,2,[3,{"b":[]}]]}', '1E400', '-0.0e-0', '"\u2028\u2029"', '[[[[[[[[[[]]]]]]]]]]', '[[[[[[[[[[]]]]]]]]]', '{"a":{"b":{"c":{}}}}}',
    ]
    for (const c of cases) expect(isJsonUtf8(utf8(c)), JSON.stringify(c)).toBe(reference(utf8(c)))
  })

  it('agrees with the reference on every 1- to 4-byte UTF-8 sequence inside a string', () => {
    const check = (bytes: number[]) => {
      const b = new Uint8Array([0x22, ...bytes, 0x22])
      const got = isJsonUtf8(b)
      if (got !== reference(b)) expect.fail(`[${bytes.map((x) => x.toString(16)).join(' ')}]: ${got} vs ${reference(b)}`)
    }
    for (let a = 0; a < 256; a++) {
      if (a === 0x22 || a === 0x5c) continue
      check([a])
      for (let c = 0; c < 256; c++) check([a, c])
    }
    // 3- and 4-byte forms: every lead byte against the boundaries of the second byte's range.
    const edges = [0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0]
    for (let a = 0xe0; a <= 0xff; a++) {
      for (const c of edges) {
        for (const d of edges) {
          check([a, c, d])
          for (const e of edges) check([a, c, d, e])
        }
      }
    }
  })

  it('agrees with the reference on 200,000 random mutations of real states', () => {
    const next = rng(20261202)
    const seeds = SAMPLES.map(utf8)
    let accepted = 0
    for (let n = 0; n < 200_000; n++) {
      const b = mutate(seeds[n % seeds.length]!, next)
      const want = reference(b)
      if (isJsonUtf8(b) !== want) expect.fail(`mutation ${n}: ${JSON.stringify(Buffer.from(b).toString('latin1'))} reference says ${want}`)
      if (want) accepted++
    }
    // Both outcomes must be well represented, or the comparison proves little.
    expect(accepted).toBeGreaterThan(10_000)
    expect(accepted).toBeLessThan(190_000)
  })

  it('reads only its range of a larger buffer', () => {
    const b = utf8('xx{"a":"b"}yy')
    expect(isJsonUtf8(b, 2, 11)).toBe(true)
    expect(isJsonUtf8(b, 2, 10)).toBe(false) // the closing brace is outside the range
    expect(isJsonUtf8(utf8('"abc"'), 0, 3)).toBe(false) // a string cut off by the range, though the buffer closes it
  })

  it('refuses nesting past MAX_JSON_DEPTH (64), counting arrays and objects together, empty ones too', () => {
    /** `depth` containers, alternating array and object, around `inner` */
    const nest = (depth: number, inner = '1') => {
      let s = inner
      for (let k = 0; k < depth; k++) s = k % 2 ? `{"k":${s}}` : `[${s}]`
      return s
    }
    for (const [text, verdict] of [
      [nest(64), JSON_OK],
      [nest(65), JSON_TOO_DEEP],
      [nest(63, '[]'), JSON_OK],
      [nest(64, '[]'), JSON_TOO_DEEP],
      [nest(64, '{}'), JSON_TOO_DEEP],
      // Deep in one branch, shallow after it: the deepest point counts.
      [`[${nest(63)},1,{"a":[]}]`, JSON_OK],
      [`[${nest(64)},1]`, JSON_TOO_DEEP],
      // A string full of brackets is not nesting.
      [`[${JSON.stringify('['.repeat(1000))}]`, JSON_OK],
      // Too deep is reported when the container past the bound opens, whatever follows.
      ['['.repeat(65) + 'x', JSON_TOO_DEEP],
      ['['.repeat(64) + 'x', JSON_INVALID],
      // The attack: 60 KB nested 30,000 deep (JSON.parse takes it; receivers' recursion does not).
      ['['.repeat(30_000) + ']'.repeat(30_000), JSON_TOO_DEEP],
    ] as const) {
      expect(checkJsonUtf8(utf8(text)), text.slice(0, 80)).toBe(verdict)
      expect(isJsonUtf8(utf8(text))).toBe(reference(utf8(text)))
    }
  })

  it('agrees with the reference on random documents nested around the bound', () => {
    const next = rng(64)
    const value = (depth: number, target: number): string => {
      if (depth >= target) return next() < 0.5 ? '[]' : next() < 0.5 ? '{}' : '0'
      const inner = value(depth + 1, target)
      const sibling = next() < 0.3 ? value(depth + 1, depth + 1 + Math.floor(next() * 3)) : '"s"'
      return next() < 0.5 ? `[${inner},${sibling}]` : `{"a":${inner},"b":${sibling}}`
    }
    let deep = 0
    for (let n = 0; n < 2_000; n++) {
      const b = utf8(value(0, 60 + Math.floor(next() * 8)))
      const want = reference(b)
      if (isJsonUtf8(b) !== want) expect.fail(`document ${n}: reference says ${want}`)
      if (!want) deep++
    }
    expect(deep).toBeGreaterThan(200)
    expect(deep).toBeLessThan(1_800)
  })
})
