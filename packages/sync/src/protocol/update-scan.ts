import { CloseCode, ProtocolError } from './errors.js'
import { JSON_OK, checkJsonUtf8, utf8Char } from './json-bytes.js'

/**
 * A Yjs v1 update walked without decoding it: what applying it would cost, known before anything
 * decodes or applies it. `scanUpdate` reads every field `Y.decodeUpdate` reads, in the same order,
 * with lib0's rules (update-scan.test.ts checks it against Yjs 13.6 / lib0 0.2 differentially), but
 * creates no struct, ID, string or value: a string is checked as UTF-8 and measured, a JSON text
 * is checked as JSON, a lib0 `any` value is skipped by its tags and lengths.
 */
export interface UpdateScan {
  /** items + GC + skip structs: `Y.decodeUpdate(update).structs.length` */
  structs: number
  /** Item structs (content of any kind, including ContentDeleted) */
  items: number
  /** items whose content is a shared type (ContentType): the ones that can nest */
  types: number
  /** items whose content is a subdocument (ContentDoc) */
  subdocs: number
  /**
   * items whose parent is written out, because neither origin nor rightOrigin is given: a root
   * type's name (it creates that root type when applied) or the ID of the type's item
   */
  explicitParents: number
  /** (clock, len) ranges in the delete set, counting every range as written */
  deleteRanges: number
  /** client blocks in the struct section (a client may appear in several) */
  clients: number
  /** structs or deletions present: `structs.length > 0 || ds.clients.size > 0` as validateUpdate computes it */
  hasContent: boolean
  /**
   * Some varint decodes to a number that is not a safe integer (NaN, Infinity, or past 2^53 - 1:
   * lib0 accepts them, see OnClientBlock), or a client block's clocks or a delete range run past
   * 2^53 - 1. No Yjs encoder writes such an update; Y.decodeUpdate accepts it, but clock
   * arithmetic on it is meaningless (and Y.applyUpdate throws on a NaN struct count, which
   * Y.decodeUpdate reads as 0). A server may refuse it.
   */
  unsafeNumbers: boolean
  /**
   * offset just past the delete set. Yjs ignores bytes after it, and so does `scanUpdate`:
   * `end < update.length` means trailing bytes, which a caller may refuse.
   */
  end: number
}

/**
 * Called once per client block, in order, after the block is read: the block brings `structs`
 * structs of `client` covering clocks [clock, endClock) (endClock = clock + the structs' lengths,
 * as Yjs adds them up; a string's length is in UTF-16 code units). The numbers are what lib0
 * decodes: a varint lib0 reads may exceed 2^53 or be Infinity or NaN (lib0 checks the range only
 * after a continuation byte, and accepts any number of 0x80 padding bytes); the summary's
 * `unsafeNumbers` says whether any did. Blocks of one client need not be contiguous or unique.
 * Throwing from the callback aborts the scan with that error.
 */
export type OnClientBlock = (client: number, clock: number, endClock: number, structs: number) => void
/** Called once per delete-set range, in order. Same number caveats as OnClientBlock. */
export type OnDeleteRange = (client: number, clock: number, len: number) => void

/**
 * Deepest nesting of arrays and objects (empty ones included) accepted inside one JSON text
 * (ContentJSON, ContentEmbed, ContentFormat values) or lib0 `any` value (ContentAny, ContentDoc
 * options). Here scanUpdate is stricter than Yjs on purpose: lib0's readAny and V8's
 * JSON.stringify recurse, so Yjs's limit is wherever the call stack runs out (on Node 20:
 * Y.decodeUpdate fails from about 4,600 nested arrays, and re-encoding JSON content from about
 * 4,100, so a document holding such a value could be applied but never encoded again).
 */
export const MAX_VALUE_DEPTH = 1000

/**
 * Walks a v1 update and returns its summary. Throws
 * ProtocolError(…, CloseCode.InvalidPayload, 'invalid-update') exactly when
 * `Y.decodeUpdate(update)` throws, or when a nested value passes MAX_VALUE_DEPTH.
 * Trailing bytes after the delete set are accepted as Yjs accepts them (see `end`), and so are
 * numbers that are not safe integers (see `unsafeNumbers`): both are the caller's policy.
 *
 * The callbacks report per-client ranges and deletions without an array per struct; they are
 * called while the scan goes on, so after a throw, what they were told is void.
 * Allocates nothing per struct: the summary object, and a number for a callback argument that is
 * not a small integer.
 */
export function scanUpdate(update: Uint8Array, onClient?: OnClientBlock, onDelete?: OnDeleteRange): UpdateScan {
  const b = update
  const n = b.length
  unsafe = false
  let structs = 0
  let items = 0
  let types = 0
  let subdocs = 0
  let explicitParents = 0

  let p = varUint(b, 0, n)
  const blocks = num
  // Every element below takes at least one byte, so a count above the bytes left cannot be met
  // (lib0 runs off the end); refusing it early also keeps the loop counters exact.
  if (blocks > n - p) fail('client block count past the end', p)
  let clients = 0
  for (let i = 0; i < blocks; i++) {
    p = varUint(b, p, n)
    const count = num
    if (count > n - p) fail('struct count past the end', p)
    p = varUint(b, p, n)
    const client = num
    p = varUint(b, p, n)
    const firstClock = num
    let clock = firstClock
    let k = 0
    for (; k < count; k++) {
      if (p >= n) fail('unexpected end of update', p)
      const at = p
      const info = b[p++]!
      const ref = info & 31
      // Y.decodeUpdate's test: exactly 10 is a Skip; any other value with ref 0 is a GC (whatever
      // its upper bits); anything else an Item whose content ref is `info & 31`.
      if (info === 10 || ref === 0) {
        p = varUint(b, p, n)
        clock += num
        structs++
        continue
      }
      if ((info & 0x80) !== 0) p = skipVarUint(b, skipVarUint(b, p, n), n) // origin ID
      if ((info & 0x40) !== 0) p = skipVarUint(b, skipVarUint(b, p, n), n) // rightOrigin ID
      if ((info & 0xc0) === 0) {
        explicitParents++
        p = varUint(b, p, n) // parent info: 1 = a root type's name, anything else = the parent item's ID
        p = num === 1 ? skipString(b, p, n) : skipVarUint(b, skipVarUint(b, p, n), n)
        if ((info & 0x20) !== 0) p = skipString(b, p, n) // parentSub (a map key)
      }
      let length = 1
      switch (ref) {
        case 1: // ContentDeleted
          p = varUint(b, p, n)
          length = num
          break
        case 2: {
          // ContentJSON: count, then strings that are JSON texts or exactly 'undefined'
          p = varUint(b, p, n)
          const len = num
          if (len > n - p) fail('JSON count past the end', p)
          length = 0
          for (let j = 0; j < len; j++) {
            p = varUint(b, p, n)
            const s = byteRange(b, p, n, num)
            if (!isUndefinedText(b, p, s) && checkJsonUtf8(b, p, s, MAX_VALUE_DEPTH) !== JSON_OK) fail('ContentJSON entry is not JSON', p)
            p = s
            length++
          }
          break
        }
        case 3: // ContentBinary
          p = varUint(b, p, n)
          p = byteRange(b, p, n, num)
          break
        case 4: // ContentString: its length is in UTF-16 code units
          p = varUint(b, p, n)
          length = num
          {
            const s = byteRange(b, p, n, length)
            length = utf16Length(b, p, s)
            if (length < 0) fail('string is not UTF-8', p)
            p = s
          }
          break
        case 5: // ContentEmbed: one JSON text
          p = skipJson(b, p, n)
          break
        case 6: // ContentFormat: key, JSON text
          p = skipJson(b, skipString(b, p, n), n)
          break
        case 7: {
          // ContentType: YArray 0, YMap 1, YText 2, YXmlElement 3 (+ node name), YXmlFragment 4,
          // YXmlHook 5 (+ hook name), YXmlText 6
          p = varUint(b, p, n)
          const typeRef = num
          if (typeRef === 3 || typeRef === 5) p = skipString(b, p, n)
          else if (!(typeRef === 0 || typeRef === 1 || typeRef === 2 || typeRef === 4 || typeRef === 6)) fail('unknown type ref', at)
          types++
          break
        }
        case 8: {
          // ContentAny: count, then lib0 any values
          p = varUint(b, p, n)
          const len = num
          if (len > n - p) fail('value count past the end', p)
          length = 0
          for (let j = 0; j < len; j++) {
            p = skipAny(b, p, n)
            length++
          }
          break
        }
        case 9: // ContentDoc: guid, options (Yjs reads options.shouldLoad: null or undefined throws)
          p = skipString(b, p, n)
          if (p < n && (b[p] === ANY_UNDEFINED || b[p] === ANY_NULL)) fail('subdocument options are not an object', p)
          p = skipAny(b, p, n)
          subdocs++
          break
        default: // 10 (a Skip only when info is exactly 10) and 11-31 are no content
          fail(`unknown content ref ${ref}`, at)
      }
      clock += length
      items++
      structs++
    }
    clients++
    if (!(clock <= Number.MAX_SAFE_INTEGER)) unsafe = true
    if (onClient !== undefined) {
      const saved: boolean = unsafe // (in case the callback scans another update)
      onClient(client, firstClock, clock, k)
      unsafe = saved
    }
  }

  // Delete set: clients, each with (clock, len) ranges. A client with no ranges adds nothing.
  p = varUint(b, p, n)
  const dsClients = num
  if (dsClients > n - p) fail('delete set client count past the end', p)
  let deleteRanges = 0
  let deletes = false
  for (let i = 0; i < dsClients; i++) {
    p = varUint(b, p, n)
    const client = num
    p = varUint(b, p, n)
    const count = num
    if (count > n - p) fail('delete range count past the end', p)
    if (count > 0) deletes = true
    for (let j = 0; j < count; j++) {
      p = varUint(b, p, n)
      const clock = num
      p = varUint(b, p, n)
      const len = num
      deleteRanges++
      if (!(clock + len <= Number.MAX_SAFE_INTEGER)) unsafe = true
      if (onDelete !== undefined) {
        const saved: boolean = unsafe
        onDelete(client, clock, len)
        unsafe = saved
      }
    }
  }
  return { structs, items, types, subdocs, explicitParents, deleteRanges, clients, hasContent: structs > 0 || deletes, unsafeNumbers: unsafe, end: p }
}

function fail(what: string, at: number): never {
  throw new ProtocolError(`invalid Yjs update: ${what} (byte ${at})`, CloseCode.InvalidPayload, 'invalid-update')
}

// ---------------------------------------------------------------------------------------------
// lib0 primitives. Each takes the position and returns the next one; a value read goes to `num`.

/** the value of the last varUint read */
let num = 0
/** a varint read since the scan began was not a safe integer (see UpdateScan.unsafeNumbers) */
let unsafe = false

/**
 * lib0's readVarUint, to the bit: 7 bits a byte, little end first; it throws past the end, and
 * past 2^53 - 1 but only after a byte with the continuation bit, so the last byte may take the
 * value beyond 2^53 (or to Infinity or NaN, after enough 0x80 padding).
 */
function varUint(b: Uint8Array, p: number, n: number): number {
  if (p < n && b[p]! < 0x80) {
    num = b[p]!
    return p + 1
  }
  let x = 0
  let mult = 1
  while (p < n) {
    const r = b[p++]!
    x = x + (r & 0x7f) * mult
    mult *= 128
    if (r < 0x80) {
      if (!(x <= Number.MAX_SAFE_INTEGER)) unsafe = true
      num = x
      return p
    }
    if (x > Number.MAX_SAFE_INTEGER) fail('integer out of range', p - 1)
  }
  return fail('unexpected end of update', p)
}

/** varUint without keeping the value (an ID's client or clock: a client id is rarely a small integer) */
function skipVarUint(b: Uint8Array, p: number, n: number): number {
  // Up to 7 bytes (49 bits) the value is a safe integer: finding the last byte is enough.
  const stop = n - p > 7 ? p + 7 : n
  for (let i = p; i < stop; i++) if (b[i]! < 0x80) return i + 1
  return skipLongVarUint(b, p, n)
}

/** skipVarUint past 7 bytes, or at the end: lib0's arithmetic, range check and end check */
function skipLongVarUint(b: Uint8Array, p: number, n: number): number {
  let x = 0
  let mult = 1
  while (p < n) {
    const r = b[p++]!
    x = x + (r & 0x7f) * mult
    mult *= 128
    if (r < 0x80) {
      if (!(x <= Number.MAX_SAFE_INTEGER)) unsafe = true
      return p
    }
    if (x > Number.MAX_SAFE_INTEGER) fail('integer out of range', p - 1)
  }
  return fail('unexpected end of update', p)
}

/**
 * lib0's readVarInt: the first byte holds a continuation bit, a sign bit and 6 bits. lib0 reads
 * that first byte without a bounds check (past the end it returns 0 and leaves the position past
 * the end, so the next read throws): here, the end throws at once.
 */
function skipVarInt(b: Uint8Array, p: number, n: number): number {
  if (p >= n) fail('unexpected end of update', p)
  let r = b[p++]!
  if ((r & 0x80) === 0) return p
  let x = r & 0x3f
  let mult = 64
  while (p < n) {
    r = b[p++]!
    x = x + (r & 0x7f) * mult
    mult *= 128
    if (r < 0x80) {
      if (!(x <= Number.MAX_SAFE_INTEGER)) unsafe = true // (the sign does not matter)
      return p
    }
    if (x > Number.MAX_SAFE_INTEGER) fail('integer out of range', p - 1)
  }
  return fail('unexpected end of update', p)
}

/**
 * The end of `len` bytes at p. lib0 refuses a length past the end, but lets NaN through (every
 * comparison with NaN is false) and its position becomes NaN, which fails the next varUint: the
 * delete set always reads one. So every length that is not a number of bytes left fails here.
 */
function byteRange(b: Uint8Array, p: number, n: number, len: number): number {
  if (!(len <= n - p)) fail('length past the end', p)
  return p + len
}

/** lib0's readVarString: length, then UTF-8 decoded with TextDecoder('utf-8', { fatal: true, ignoreBOM: true }) */
function skipString(b: Uint8Array, p: number, n: number): number {
  p = varUint(b, p, n)
  const end = byteRange(b, p, n, num)
  if (utf16Length(b, p, end) < 0) fail('string is not UTF-8', p)
  return end
}

/** UpdateDecoderV1.readJSON: JSON.parse of a lib0 string */
function skipJson(b: Uint8Array, p: number, n: number): number {
  p = varUint(b, p, n)
  const end = byteRange(b, p, n, num)
  if (checkJsonUtf8(b, p, end, MAX_VALUE_DEPTH) !== JSON_OK) fail('not a JSON text', p)
  return end
}

/**
 * The UTF-16 length of the string that b[i..end) decodes to as a fatal WHATWG UTF-8 decoder sees
 * it (no overlong forms, no surrogates, nothing above U+10FFFF, no truncated sequence; a BOM is a
 * character), or -1 if that decoder throws.
 */
function utf16Length(b: Uint8Array, i: number, end: number): number {
  let units = 0
  while (i < end) {
    const c = b[i]!
    if (c < 0x80) {
      i++
      units++
      continue
    }
    const next = utf8Char(b, i, end)
    if (next < 0) return -1
    units += next - i === 4 ? 2 : 1 // a 4-byte sequence is a surrogate pair
    i = next
  }
  return units
}

const UNDEFINED_TEXT = [0x75, 0x6e, 0x64, 0x65, 0x66, 0x69, 0x6e, 0x65, 0x64] // 'undefined'

function isUndefinedText(b: Uint8Array, i: number, end: number): boolean {
  if (end - i !== UNDEFINED_TEXT.length) return false
  for (let k = 0; k < UNDEFINED_TEXT.length; k++) if (b[i + k] !== UNDEFINED_TEXT[k]) return false
  return true
}

// ---------------------------------------------------------------------------------------------
// lib0 `any` values (decoding.readAny), skipped with an explicit stack.

const ANY_UNDEFINED = 127
const ANY_NULL = 126
const ANY_INT = 125 // varInt
const ANY_FLOAT32 = 124
const ANY_FLOAT64 = 123
const ANY_BIGINT = 122 // 8 bytes
const ANY_FALSE = 121
const ANY_TRUE = 120
const ANY_STRING = 119
const ANY_OBJECT = 118 // count, then (string key, value) pairs
const ANY_ARRAY = 117 // count, then values
const ANY_BYTES = 116 // varUint8Array

/** entries left in each open container (the scan is synchronous: one stack serves every call) */
const anyLeft = new Float64Array(MAX_VALUE_DEPTH)
const anyIsObject = new Uint8Array(MAX_VALUE_DEPTH)

function skipAny(b: Uint8Array, p: number, n: number): number {
  let depth = 0
  for (;;) {
    // A value starts at p.
    if (p >= n) fail('unexpected end of update', p)
    const tag = b[p++]!
    switch (tag) {
      case ANY_UNDEFINED:
      case ANY_NULL:
      case ANY_FALSE:
      case ANY_TRUE:
        break
      case ANY_INT:
        p = skipVarInt(b, p, n)
        break
      case ANY_FLOAT32:
        p = byteRange(b, p, n, 4)
        break
      case ANY_FLOAT64:
      case ANY_BIGINT:
        p = byteRange(b, p, n, 8)
        break
      case ANY_STRING:
        p = skipString(b, p, n)
        break
      case ANY_BYTES:
        p = varUint(b, p, n)
        p = byteRange(b, p, n, num)
        break
      case ANY_OBJECT:
      case ANY_ARRAY: {
        if (depth === MAX_VALUE_DEPTH) fail(`value nested deeper than ${MAX_VALUE_DEPTH}`, p - 1)
        p = varUint(b, p, n)
        const len = num
        if (len > n - p) fail('value count past the end', p)
        if (len > 0) {
          anyLeft[depth] = len
          anyIsObject[depth] = tag === ANY_OBJECT ? 1 : 0
          depth++
          if (tag === ANY_OBJECT) p = skipString(b, p, n) // the first key
          continue
        }
        break // empty (a NaN count reads no entry either)
      }
      default:
        fail(`unknown value tag ${tag}`, p - 1)
    }
    // A value ended: close the containers it completes.
    for (;;) {
      if (depth === 0) return p
      if (--anyLeft[depth - 1]! > 0) {
        if (anyIsObject[depth - 1] === 1) p = skipString(b, p, n) // the next key
        break
      }
      depth--
    }
  }
}
