// Deterministic editing trace for scenario D: several authors type, fix typos and jump around
// in one Y.Text, one character per operation. Seeded, so every run and machine sees the same
// document; generated once and cached under results/tmp/.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as Y from 'yjs'
import * as prng from 'lib0/prng'
import { TEXT_NAME } from './wire/protocol.mjs'
import { writeTrace, readTrace } from './trace-file.mjs'

/**
 * @typedef {{ ops: number, authors: number, chunks: number, seed: number }} TraceSpec
 */

// Tuned so 100k ops with seed 42 encode to ~370 KB with ~30 % deletes (scenario D:
// src/scenarios/large-doc.mjs).
const SWITCH = 0.025 // per op: another author takes over
const JUMP = 0.035 // per op: the author moves the caret somewhere random
const DEL = 0.17 // per op: start a backspace run
const DEL_CONTINUE = 0.6 // per op: keep deleting
const ALPHABET = 'etaoinshrdlu cmfwypvbgkqjxz  ,.\n'

/**
 * @param {TraceSpec} spec
 * @returns {import('./trace-file.mjs').Trace}
 */
function generateTrace (spec) {
  const t0 = performance.now()
  const gen = prng.create(spec.seed)
  const doc = new Y.Doc()
  const text = doc.getText(TEXT_NAME)
  const authors = Array.from({ length: spec.authors }, (_, i) => ({ id: 0x1000_0000 + i * 7919 + prng.uint32(gen, 0, 1 << 20), cursor: 0 }))
  /** @type {Uint8Array[]} */
  let pending = []
  doc.on('update', (/** @type {Uint8Array} */ u) => pending.push(u))
  /** @type {Uint8Array[]} */
  const chunks = []
  const opsPerChunk = Math.ceil(spec.ops / spec.chunks)
  let author = authors[0]
  let inserts = 0
  let deletes = 0
  let deleting = false
  for (let op = 0; op < spec.ops; op++) {
    // Short bursts: switch author or jump elsewhere every few keystrokes, which fragments the
    // document the way real concurrent editing does (B4-like traces compress far better).
    if (prng.real53(gen) < SWITCH) author = prng.oneOf(gen, authors)
    if (prng.real53(gen) < JUMP) author.cursor = prng.uint32(gen, 0, text.length)
    author.cursor = Math.min(author.cursor, text.length)
    doc.clientID = author.id
    const at = author.cursor
    // Backspace comes in runs, like real typo fixing.
    deleting = prng.real53(gen) < (deleting ? DEL_CONTINUE : DEL)
    if (at > 0 && deleting) {
      text.delete(at - 1, 1)
      deletes++
      for (const a of authors) if (a.cursor >= at) a.cursor--
    } else {
      text.insert(at, ALPHABET[prng.uint32(gen, 0, ALPHABET.length - 1)])
      inserts++
      for (const a of authors) if (a !== author && a.cursor >= at) a.cursor++
      author.cursor++
    }
    if ((op + 1) % opsPerChunk === 0 || op === spec.ops - 1) {
      chunks.push(Y.mergeUpdates(pending))
      pending = []
    }
  }
  const state = Y.encodeStateAsUpdate(doc)
  return {
    chunks,
    state,
    text: text.toString(),
    info: { ...spec, inserts, deletes, stateBytes: state.length, chars: text.length, generateMs: Math.round(performance.now() - t0) },
  }
}

/**
 * Loads the cached trace for `spec`, generating it first if needed.
 * @param {TraceSpec} spec @param {string} dir
 */
export function ensureTrace (spec, dir) {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `trace-${spec.ops}-${spec.authors}-${spec.chunks}-${spec.seed}.bin`)
  if (!existsSync(path)) writeFileSync(path, writeTrace(generateTrace(spec)))
  return { path, info: readTrace(readFileSync(path)).info }
}
