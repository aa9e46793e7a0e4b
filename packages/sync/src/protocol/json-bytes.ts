/**
 * JSON texts checked on their UTF-8 bytes, without decoding or allocating: what
 * `JSON.parse(decoder.decode(bytes))` accepts with lib0's decoder, plus a bound on nesting. The
 * server checks every awareness state with it (presence/states.ts), and the update scanner every
 * JSON value in a Yjs update (update-scan.ts).
 */

/**
 * Deepest nesting of arrays and objects (together) an awareness state may have: `[]` is 1 deep, `1` is 0.
 * A y-protocols receiver compares a client's new state with its previous one recursively
 * (lib0's equalityDeep): a 60 KB state nested 30,000 deep passes JSON.parse, and its second
 * update throws RangeError (call stack) in every receiver. Real states (a user, a caret with
 * relative positions) are 4 or 5 deep.
 */
export const MAX_JSON_DEPTH = 64

/** checkJsonUtf8's verdicts */
export const JSON_OK = 0
export const JSON_INVALID = 1
/** nested deeper than the bound (reported as soon as the container past it opens, whatever follows) */
export const JSON_TOO_DEEP = 2
export type JsonVerdict = typeof JSON_OK | typeof JSON_INVALID | typeof JSON_TOO_DEEP

/** The deepest bound checkJsonUtf8 takes. */
export const MAX_JSON_DEPTH_BOUND = 1024

/**
 * The open containers (OBJECT or ARRAY) of the text being checked. One stack for every call:
 * depth is bounded, the check is synchronous and calls nothing that could re-enter it, so the
 * hot path allocates nothing at all.
 */
const stack = new Uint8Array(MAX_JSON_DEPTH_BOUND)

/**
 * Whether `b[start..end)` is a JSON text that a y-protocols client can read, nested at most
 * `maxDepth` (≤ MAX_JSON_DEPTH_BOUND) deep: what `JSON.parse(decoder.decode(bytes))` accepts with lib0's decoder
 * (`TextDecoder('utf-8', { fatal: true, ignoreBOM: true })`), checked on the bytes, plus the
 * depth bound. Every awareness state a client sends is checked, so this is on the presence hot
 * path: no string is decoded and nothing is allocated (JSON.parse builds the whole object only
 * for us to drop it). Differentially tested against that reference (json-bytes.test.ts).
 */
export function checkJsonUtf8(b: Uint8Array, start = 0, end = b.length, maxDepth = MAX_JSON_DEPTH): JsonVerdict {
  let i = start
  let depth = 0
  for (;;) {
    // A value is expected at i.
    i = skipWs(b, i, end)
    if (i >= end) return JSON_INVALID
    const c = b[i]!
    if (c === OBJECT) {
      if (depth === maxDepth) return JSON_TOO_DEEP
      i = skipWs(b, i + 1, end)
      if (i < end && b[i] === OBJECT_END) i++
      else {
        i = member(b, i, end)
        if (i < 0) return JSON_INVALID
        stack[depth++] = OBJECT
        continue
      }
    } else if (c === ARRAY) {
      if (depth === maxDepth) return JSON_TOO_DEEP
      i = skipWs(b, i + 1, end)
      if (i < end && b[i] === ARRAY_END) i++
      else {
        stack[depth++] = ARRAY
        continue
      }
    } else if (c === QUOTE) i = string(b, i + 1, end)
    else if (c === MINUS || (c >= ZERO && c <= NINE)) i = number(b, i, end)
    else if (c === 0x74) i = literal(b, i, end, TRUE)
    else if (c === 0x66) i = literal(b, i, end, FALSE)
    else if (c === 0x6e) i = literal(b, i, end, NULL)
    else return JSON_INVALID
    if (i < 0) return JSON_INVALID
    // A value ended: close containers until one continues with a comma, or the text ends.
    for (;;) {
      i = skipWs(b, i, end)
      if (depth === 0) return i === end ? JSON_OK : JSON_INVALID
      if (i >= end) return JSON_INVALID
      const top = stack[depth - 1]
      const d = b[i]!
      if (d === COMMA) {
        i++
        if (top === OBJECT) {
          i = member(b, skipWs(b, i, end), end)
          if (i < 0) return JSON_INVALID
        }
        break
      }
      if (d !== (top === OBJECT ? OBJECT_END : ARRAY_END)) return JSON_INVALID
      depth--
      i++
    }
  }
}

/** checkJsonUtf8 said JSON_OK: valid UTF-8 JSON, at most MAX_JSON_DEPTH deep. */
export const isJsonUtf8 = (b: Uint8Array, start = 0, end = b.length): boolean => checkJsonUtf8(b, start, end) === JSON_OK

const OBJECT = 0x7b
const OBJECT_END = 0x7d
const ARRAY = 0x5b
const ARRAY_END = 0x5d
const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const MINUS = 0x2d
const PLUS = 0x2b
const DOT = 0x2e
const ZERO = 0x30
const NINE = 0x39
const TRUE = [0x74, 0x72, 0x75, 0x65]
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65]
const NULL = [0x6e, 0x75, 0x6c, 0x6c]

/** JSON whitespace only (space, tab, LF, CR): not a BOM, not U+00A0. */
function skipWs(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break
    i++
  }
  return i
}

/** `"key" :` at i (whitespace before i already skipped); returns the index after the colon, or -1. */
function member(b: Uint8Array, i: number, end: number): number {
  if (i >= end || b[i] !== QUOTE) return -1
  i = string(b, i + 1, end)
  if (i < 0) return -1
  i = skipWs(b, i, end)
  return i < end && b[i] === COLON ? i + 1 : -1
}

function literal(b: Uint8Array, i: number, end: number, word: readonly number[]): number {
  if (end - i < word.length) return -1
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1
  return i + word.length
}

const isDigit = (c: number | undefined) => c !== undefined && c >= ZERO && c <= NINE

/** -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? ; returns the index after it, or -1. */
function number(b: Uint8Array, i: number, end: number): number {
  if (b[i] === MINUS) i++
  if (i >= end) return -1
  if (b[i] === ZERO) i++
  else if (isDigit(b[i])) while (i < end && isDigit(b[i])) i++
  else return -1
  if (i < end && b[i] === DOT) {
    const from = ++i
    while (i < end && isDigit(b[i])) i++
    if (i === from) return -1
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++
    if (i < end && (b[i] === PLUS || b[i] === MINUS)) i++
    const from = i
    while (i < end && isDigit(b[i])) i++
    if (i === from) return -1
  }
  return i
}

const isHex = (c: number | undefined) => c !== undefined && ((c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))
/** the characters a backslash may escape, besides u: " \ / b f n r t */
const SIMPLE_ESCAPES = new Set([QUOTE, BACKSLASH, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74])

/**
 * The rest of a string after its opening quote: no raw control characters, valid escapes, and
 * well-formed UTF-8 as a fatal TextDecoder sees it (no overlong forms, no surrogates, nothing
 * above U+10FFFF, no truncated sequence). Returns the index after the closing quote, or -1.
 */
function string(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!
    if (c === QUOTE) return i + 1
    if (c < 0x20) return -1
    if (c === BACKSLASH) {
      if (i + 1 >= end) return -1
      const e = b[i + 1]!
      if (e === 0x75) {
        if (i + 5 >= end || !isHex(b[i + 2]) || !isHex(b[i + 3]) || !isHex(b[i + 4]) || !isHex(b[i + 5])) return -1
        i += 6
      } else if (SIMPLE_ESCAPES.has(e)) i += 2
      else return -1
    } else if (c < 0x80) {
      i++
    } else {
      i = utf8Char(b, i, end)
      if (i < 0) return -1
    }
  }
  return -1
}

/**
 * The multi-byte UTF-8 sequence starting at `b[i]` (a byte ≥ 0x80) as a fatal WHATWG decoder reads
 * it: the index after it, or -1 for an overlong form, a surrogate, anything above U+10FFFF or a
 * truncated sequence. Its length in UTF-16 units is 2 when it took 4 bytes, else 1.
 */
export function utf8Char(b: Uint8Array, i: number, end: number): number {
  const c = b[i]!
  // Sequence lengths and second-byte ranges from the WHATWG UTF-8 decoder.
  let n: number
  let lo = 0x80
  let hi = 0xbf
  if (c >= 0xc2 && c <= 0xdf) n = 1
  else if (c >= 0xe0 && c <= 0xef) {
    n = 2
    if (c === 0xe0) lo = 0xa0
    else if (c === 0xed) hi = 0x9f
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 3
    if (c === 0xf0) lo = 0x90
    else if (c === 0xf4) hi = 0x8f
  } else return -1
  if (i + n >= end) return -1
  const second = b[i + 1]!
  if (second < lo || second > hi) return -1
  if (n > 1 && (b[i + 2]! & 0xc0) !== 0x80) return -1
  if (n > 2 && (b[i + 3]! & 0xc0) !== 0x80) return -1
  return i + n + 1
}
