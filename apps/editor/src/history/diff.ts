import type { Node as PMNode } from '@tiptap/pm/model'
import { diffArrays } from 'diff'

/**
 * What changed from one document to another, word by word, as ranges of the NEWER one (the
 * History panel draws it as decorations: decorations.ts).
 *
 * 1. The top-level blocks are aligned (alignBlocks: on the blocks' JSON interned to numbers,
 *    blocks unique in both documents anchor a patience-style split, and `diff`'s diffArrays, i.e.
 *    Myers, aligns each segment between anchors): equal blocks are kept; between two equal runs,
 *    removed and added blocks are paired when they look alike (same type, shared words), else
 *    shown as a deleted or an inserted block.
 * 2. A pair is diffed as tokens (words, spaces, punctuation, inline nodes; a word's marks are
 *    part of it, so "bold added" shows as the word deleted and inserted), again with diffArrays.
 *
 * BOUND: Myers costs at most about (n + m) × d for n and m tokens (after the common prefix and
 * suffix, trimmed in linear time) and d edits. Every diff runs with `maxEditLength` = what is left
 * of a budget of WORK_BUDGET cells divided by its n + m, and is charged (n + m) × the edits it
 * used; a diff that would need more (or starts with no budget) gives up, and its blocks are
 * highlighted whole instead (`changedBlocks`, `coarse`). The block alignment and the word diffs
 * have a budget each, so a comparison costs O(document size + 2 × WORK_BUDGET) whatever the
 * input: a single paragraph of 200,000 changed words is tokenised once, tries a few edits and
 * falls back. At most MAX_MARKS ranges and widgets come out; a deleted text is cut at
 * MAX_DELETED_CHARS.
 */

const WORK_BUDGET = 4_000_000
const MAX_MARKS = 4000
export const MAX_DELETED_CHARS = 1000

interface Range {
  from: number
  to: number
}

export interface DiffResult {
  /** inserted text and inline nodes (positions in the newer document) */
  inserted: Range[]
  /** deleted inline text, shown at `pos` of the newer document */
  deleted: Array<{ pos: number; text: string }>
  /** top-level blocks of the newer document that the older one did not have */
  insertedBlocks: Range[]
  /** top-level blocks of the older document that are gone: shown before `pos` (a block boundary) */
  deletedBlocks: Array<{ pos: number; text: string }>
  /** changed blocks the budget did not allow to diff word by word: highlighted whole */
  changedBlocks: Range[]
  /** the budget (or the mark cap) ran out somewhere */
  coarse: boolean
}

interface Token {
  key: number
  text: string
  from: number
  to: number
}

interface Budget {
  work: number
  marks: number
}

/** Words (letters, digits, apostrophes inside), runs of spaces, single other characters. */
const TOKEN = /[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*|\s+|[^\s\p{L}\p{M}\p{N}]/gu

export function diffDocs(older: PMNode, newer: PMNode, budget: Partial<Budget> = {}): DiffResult {
  const out: DiffResult = { inserted: [], deleted: [], insertedBlocks: [], deletedBlocks: [], changedBlocks: [], coarse: false }
  const left: Budget = { work: budget.work ?? WORK_BUDGET, marks: budget.marks ?? MAX_MARKS }
  const blockBudget: Budget = { work: budget.work ?? WORK_BUDGET, marks: 0 }
  const intern = new Map<string, number>()
  const id = (s: string) => {
    let n = intern.get(s)
    if (n === undefined) intern.set(s, (n = intern.size))
    return n
  }
  const oldBlocks = children(older)
  const newBlocks = children(newer)
  const oldKeys = oldBlocks.map((b) => id(JSON.stringify(b.node.toJSON())))
  const newKeys = newBlocks.map((b) => id(JSON.stringify(b.node.toJSON())))
  const end = newer.content.size

  const changes = alignBlocks(oldKeys, newKeys, blockBudget)
  let i = 0
  let j = 0
  for (let k = 0; k < changes.length; ) {
    const step = changes[k]!
    if (step.kind === 'unaligned') {
      // Blocks that could not be aligned within the budget: highlighted whole.
      for (const b of newBlocks.slice(j, j + step.count)) changed(b)
      i += step.oldCount ?? 0
      j += step.count
      k++
      continue
    }
    if (changes[k]!.kind === 'same') {
      i += changes[k]!.count
      j += changes[k]!.count
      k++
      continue
    }
    // A region of removed and added blocks between two equal runs.
    let removed = 0
    let added = 0
    for (; k < changes.length && (changes[k]!.kind === 'removed' || changes[k]!.kind === 'added'); k++) {
      if (changes[k]!.kind === 'removed') removed += changes[k]!.count
      else added += changes[k]!.count
    }
    const olds = oldBlocks.slice(i, i + removed)
    const news = newBlocks.slice(j, j + added)
    region(olds, news, j + added < newBlocks.length ? newBlocks[j + added]!.pos : end)
    i += removed
    j += added
  }
  return out

  /** Pairs look-alike blocks in order; the rest are deleted or inserted blocks. */
  function region(olds: Block[], news: Block[], stop: number): void {
    let n = 0
    for (const o of olds) {
      const match = findPair(o, news, n)
      if (match === -1) {
        deletedBlock(o, n < news.length ? news[n]!.pos : stop)
        continue
      }
      for (; n < match; n++) insertedBlock(news[n]!)
      pair(o, news[n]!)
      n++
    }
    for (; n < news.length; n++) insertedBlock(news[n]!)
  }

  function insertedBlock(b: Block): void {
    if (!spend(1)) return void changed(b)
    out.insertedBlocks.push({ from: b.pos, to: b.pos + b.node.nodeSize })
  }

  function deletedBlock(b: Block, pos: number): void {
    if (!spend(1)) return void (out.coarse = true)
    out.deletedBlocks.push({ pos, text: cut(b.node.textBetween(0, b.node.content.size, '\n', '\uFFFC')) })
  }

  function changed(b: Block): void {
    out.coarse = true
    out.changedBlocks.push({ from: b.pos, to: b.pos + b.node.nodeSize })
  }

  /** Word by word within a pair of blocks. */
  function pair(o: Block, b: Block): void {
    const a = tokens(o.node, o.pos, id)
    const c = tokens(b.node, b.pos, id)
    const steps = diffTrimmed(
      a.list.map((t) => t.key),
      c.list.map((t) => t.key),
      left,
    )
    if (!steps) return changed(b)
    const inserted: Range[] = []
    const deleted: Array<{ pos: number; text: string }> = []
    let x = 0
    let y = 0
    for (const s of steps) {
      if (s.kind === 'same') {
        x += s.count
        y += s.count
      } else if (s.kind === 'removed') {
        const text = a.list
          .slice(x, x + s.count)
          .map((t) => t.text)
          .join('')
        const pos = y > 0 ? c.list[y - 1]!.to : y < c.list.length ? c.list[y]!.from : c.firstInline
        if (text.trim() !== '') deleted.push({ pos, text: cut(text) })
        x += s.count
      } else {
        const run = c.list.slice(y, y + s.count).filter((t) => t.to > t.from)
        if (run.length > 0) inserted.push({ from: run[0]!.from, to: run[run.length - 1]!.to })
        y += s.count
      }
    }
    if (!spend(inserted.length + deleted.length)) return changed(b)
    out.inserted.push(...inserted)
    out.deleted.push(...deleted)
  }

  function spend(marks: number): boolean {
    if (left.marks < marks) return false
    left.marks -= marks
    return true
  }
}

interface Block {
  node: PMNode
  /** its position in its document (top level) */
  pos: number
}

function children(doc: PMNode): Block[] {
  const blocks: Block[] = []
  doc.forEach((node, offset) => blocks.push({ node, pos: offset }))
  return blocks
}

const cut = (text: string) => (text.length > MAX_DELETED_CHARS ? `${text.slice(0, MAX_DELETED_CHARS)}…` : text)

/** A block's inline content as tokens with their positions; a new textblock starts with a separator. */
function tokens(block: PMNode, pos: number, id: (s: string) => number): { list: Token[]; firstInline: number } {
  const list: Token[] = []
  let firstInline = -1
  const visit = (node: PMNode, at: number) => {
    if (node.isTextblock) {
      if (firstInline === -1) firstInline = at + 1
      else list.push({ key: id('\u0002'), text: '\n', from: at + 1, to: at + 1 })
    }
    if (node.isText) {
      const marks = node.marks.map((m) => `${m.type.name}${JSON.stringify(m.attrs)}`).join(',')
      const text = node.text ?? ''
      for (const m of text.matchAll(TOKEN)) {
        const from = at + m.index
        list.push({ key: id(`${m[0]}\u0001${marks}`), text: m[0], from, to: from + m[0].length })
      }
      return
    }
    if (node.isInline) {
      list.push({ key: id(`\uFFFC${JSON.stringify(node.toJSON())}`), text: node.type.name === 'hardBreak' ? '\n' : '\uFFFC', from: at, to: at + node.nodeSize })
      return
    }
    node.forEach((child, offset) => visit(child, at + 1 + offset))
  }
  visit(block, pos)
  return { list, firstInline: firstInline === -1 ? pos : firstInline }
}

/** Whether two blocks are similar enough to be shown as one changed block: same type and a third of their words in common. */
function findPair(o: Block, news: Block[], from: number): number {
  // Looks a few blocks ahead only: a region's pairing stays linear in its size.
  for (let n = from; n < Math.min(news.length, from + 8); n++) {
    const b = news[n]!
    if (b.node.type !== o.node.type) continue
    if (alike(sample(o.node), sample(b.node))) return n
  }
  return -1
}

/** The text of the first SAMPLE positions: enough to tell a rewrite from an edit, bounded. */
const SAMPLE = 2000
const sample = (node: PMNode) => node.textBetween(0, Math.min(node.content.size, SAMPLE), ' ', ' ')

function alike(a: string, b: string): boolean {
  if (a === b || a.length === 0 || b.length === 0) return true
  const wa = new Set(a.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])
  const wb = new Set(b.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])
  if (wa.size === 0 || wb.size === 0) return true
  let common = 0
  for (const w of wa) if (wb.has(w)) common++
  return common * 3 >= Math.min(wa.size, wb.size)
}

type Step = { kind: 'same' | 'removed' | 'added'; count: number } | { kind: 'unaligned'; count: number; oldCount: number }

/**
 * The top-level blocks aligned as patience diff does: blocks whose key occurs once in each
 * document are anchors; the longest run of anchors in the same order (O(n log n)) splits both
 * documents into segments, each aligned by Myers (diffTrimmed) on its own. Scattered edits in a
 * long document then cost little (small segments) instead of (all blocks) × (all edits); a segment
 * that does not fit in what is left of the budget is `unaligned` (its blocks highlighted whole),
 * the others are still shown word by word.
 */
function alignBlocks(a: number[], b: number[], budget: Budget): Step[] {
  const countA = new Map<number, number>()
  const countB = new Map<number, number>()
  const atA = new Map<number, number>()
  a.forEach((k, i) => {
    countA.set(k, (countA.get(k) ?? 0) + 1)
    atA.set(k, i)
  })
  for (const k of b) countB.set(k, (countB.get(k) ?? 0) + 1)
  const candidates: Array<[number, number]> = []
  b.forEach((k, j) => {
    if (countA.get(k) === 1 && countB.get(k) === 1) candidates.push([atA.get(k)!, j])
  })
  const anchors = longestIncreasing(candidates)
  const steps: Step[] = []
  const push = (st: Step) => {
    const last = steps[steps.length - 1]
    if (last && last.kind === st.kind && st.kind !== 'unaligned') last.count += st.count
    else steps.push(st)
  }
  let i = 0
  let j = 0
  for (const [ai, bj] of [...anchors, [a.length, b.length] as [number, number]]) {
    const segA = a.slice(i, ai)
    const segB = b.slice(j, bj)
    const seg = diffTrimmed(segA, segB, budget)
    if (seg) seg.forEach(push)
    else steps.push({ kind: 'unaligned', count: segB.length, oldCount: segA.length })
    if (ai < a.length) push({ kind: 'same', count: 1 })
    i = ai + 1
    j = bj + 1
  }
  return steps
}

/** The longest subsequence of `pairs` (in order of their second item) whose first items increase. */
function longestIncreasing(pairs: Array<[number, number]>): Array<[number, number]> {
  const tails: number[] = [] // index into pairs of the smallest tail of a run of each length
  const prev: number[] = new Array<number>(pairs.length)
  for (let p = 0; p < pairs.length; p++) {
    let lo = 0
    let hi = tails.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (pairs[tails[mid]!]![0] < pairs[p]![0]) lo = mid + 1
      else hi = mid
    }
    prev[p] = lo > 0 ? tails[lo - 1]! : -1
    tails[lo] = p
  }
  const out: Array<[number, number]> = []
  for (let p = tails.length > 0 ? tails[tails.length - 1]! : -1; p !== -1; p = prev[p]!) out.push(pairs[p]!)
  return out.reverse()
}

function commonEnds(a: number[], b: number[]): [number, number] {
  let pre = 0
  const max = Math.min(a.length, b.length)
  while (pre < max && a[pre] === b[pre]) pre++
  let suf = 0
  while (suf < max - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++
  return [pre, suf]
}

/**
 * diffArrays on what lies between the common prefix and suffix, with maxEditLength from the
 * budget; undefined when it would cost more than is left (the budget is charged what it tried).
 */
function diffTrimmed(a: number[], b: number[], budget: Budget): Step[] | undefined {
  const [pre, suf] = commonEnds(a, b)
  const midA = a.slice(pre, a.length - suf)
  const midB = b.slice(pre, b.length - suf)
  const size = midA.length + midB.length
  const steps: Step[] = []
  if (pre > 0) steps.push({ kind: 'same', count: pre })
  if (midA.length === 0 || midB.length === 0) {
    if (midA.length > 0) steps.push({ kind: 'removed', count: midA.length })
    if (midB.length > 0) steps.push({ kind: 'added', count: midB.length })
  } else {
    const maxEditLength = Math.min(size, Math.floor(budget.work / size))
    if (maxEditLength < 1) return undefined
    const result = diffArrays(midA, midB, { maxEditLength })
    if (!result) {
      budget.work -= size * maxEditLength
      return undefined
    }
    let edits = 0
    for (const c of result) {
      const kind: 'added' | 'removed' | 'same' = c.added ? 'added' : c.removed ? 'removed' : 'same'
      if (kind !== 'same') edits += c.count
      steps.push({ kind, count: c.count })
    }
    budget.work -= size * Math.max(1, edits)
  }
  if (suf > 0) steps.push({ kind: 'same', count: suf })
  return steps
}
