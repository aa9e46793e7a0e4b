import { describe, expect, it } from 'vitest'
import { getSchema, type JSONContent } from '@tiptap/core'
import type { Node as PMNode } from '@tiptap/pm/model'
import { documentExtensions } from '@tandem/schema'
import { diffDocs, MAX_DELETED_CHARS, type DiffResult } from './diff.js'

const schema = getSchema(documentExtensions())
const p = (...text: Array<string | JSONContent>): JSONContent => ({
  type: 'paragraph',
  content: text.map((t) => (typeof t === 'string' ? { type: 'text', text: t } : t)),
})
const docOf = (...blocks: JSONContent[]): PMNode => schema.nodeFromJSON({ type: 'doc', content: blocks })
const bold = (text: string): JSONContent => ({ type: 'text', text, marks: [{ type: 'bold' }] })

/** The inserted ranges as the newer document's text. */
const insertedText = (doc: PMNode, d: DiffResult) => d.inserted.map((r) => doc.textBetween(r.from, r.to))

describe('diffDocs: what the newer document changed, word by word', () => {
  it('an unchanged document has no changes', () => {
    const a = docOf(p('Same text.'), p('Two.'))
    const d = diffDocs(a, docOf(p('Same text.'), p('Two.')))
    expect(d).toEqual({ inserted: [], deleted: [], insertedBlocks: [], deletedBlocks: [], changedBlocks: [], coarse: false })
  })

  it('a replaced word: the new one inserted, the old one deleted at its place', () => {
    const newer = docOf(p('The quick red fox.'))
    const d = diffDocs(docOf(p('The quick brown fox.')), newer)
    expect(insertedText(newer, d)).toEqual(['red'])
    expect(d.deleted).toEqual([{ pos: d.inserted[0]!.from, text: 'brown' }])
    // The deleted word sits right before the inserted one ("quick |brown|red fox").
    expect(newer.textBetween(1, d.deleted[0]!.pos)).toBe('The quick ')
    expect(d.coarse).toBe(false)
  })

  it('inserted and deleted words in the middle of a long paragraph', () => {
    const older = docOf(p('one two three four five six seven'))
    const newer = docOf(p('one two 2½ three five six seven eight'))
    const d = diffDocs(older, newer)
    expect(insertedText(newer, d)).toEqual(['2½ ', ' eight'])
    expect(d.deleted.map((x) => x.text)).toEqual(['four '])
  })

  it('formatting counts: a word made bold is deleted and inserted', () => {
    const newer = docOf(p('make ', bold('this'), ' bold'))
    const d = diffDocs(docOf(p('make this bold')), newer)
    expect(insertedText(newer, d)).toEqual(['this'])
    expect(d.deleted.map((x) => x.text)).toEqual(['this'])
  })

  it('a block inserted and a block deleted, the others untouched', () => {
    const older = docOf(p('Alpha.'), p('Gone entirely, nothing like it.'), p('Omega.'))
    const newer = docOf(p('Alpha.'), { type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'New heading' }] }, p('Omega.'))
    const d = diffDocs(older, newer)
    expect(d.insertedBlocks).toHaveLength(1)
    expect(newer.nodeAt(d.insertedBlocks[0]!.from)!.textContent).toBe('New heading')
    expect(d.deletedBlocks).toEqual([{ pos: d.insertedBlocks[0]!.from, text: 'Gone entirely, nothing like it.' }])
    expect(d.inserted).toEqual([])
  })

  it('a paragraph appended at the end, one removed from the end', () => {
    const newer = docOf(p('Kept.'), p('Added at the end.'))
    const d = diffDocs(docOf(p('Kept.')), newer)
    expect(d.insertedBlocks.map((r) => newer.nodeAt(r.from)!.textContent)).toEqual(['Added at the end.'])
    const shorter = docOf(p('Kept.'))
    const e = diffDocs(docOf(p('Kept.'), p('Removed.')), shorter)
    expect(e.deletedBlocks).toEqual([{ pos: shorter.content.size, text: 'Removed.' }])
  })

  it('an edited paragraph next to an inserted one: the edit is word by word, the new one whole', () => {
    const older = docOf(p('First.'), p('Second paragraph with some words.'), p('Last.'))
    const newer = docOf(p('First.'), p('Brand new.'), p('Second paragraph with more words.'), p('Last.'))
    const d = diffDocs(older, newer)
    expect(d.insertedBlocks.map((r) => newer.nodeAt(r.from)!.textContent)).toEqual(['Brand new.'])
    expect(insertedText(newer, d)).toEqual(['more'])
    expect(d.deleted.map((x) => x.text)).toEqual(['some'])
  })

  it('inside lists: words in list items are diffed in place', () => {
    const list = (...items: string[]): JSONContent => ({ type: 'bulletList', content: items.map((t) => ({ type: 'listItem', content: [p(t)] })) })
    const newer = docOf(list('apples', 'ripe pears', 'plums'))
    const d = diffDocs(docOf(list('apples', 'pears', 'plums')), newer)
    expect(insertedText(newer, d)).toEqual(['ripe '])
  })

  it('a long deleted text is cut', () => {
    const long = 'x'.repeat(MAX_DELETED_CHARS * 3)
    const d = diffDocs(docOf(p('a'), p(long)), docOf(p('a')))
    expect(d.deletedBlocks[0]!.text.length).toBe(MAX_DELETED_CHARS + 1)
  })
})

describe('diffDocs: bounded work', () => {
  it('a huge single block rewritten entirely: falls back to highlighting the block', () => {
    // One changed block (the same first 500 words), too different after them to diff in budget.
    const words = (prefix: string) => Array.from({ length: 200_000 }, (_, i) => (i < 500 ? `w${i}` : `${prefix}${i}`)).join(' ')
    const older = docOf(p(words('a')))
    const newer = docOf(p(words('b')))
    const d = diffDocs(older, newer)
    expect(d.coarse).toBe(true)
    expect(d.changedBlocks).toEqual([{ from: 0, to: newer.content.size }])
    expect(d.inserted).toEqual([])
  })

  it('a huge single block with one word changed: still word by word (the common ends are trimmed)', () => {
    const words = Array.from({ length: 200_000 }, (_, i) => `w${i}`)
    const changed = [...words]
    changed[100_000] = 'CHANGED'
    const newer = docOf(p(changed.join(' ')))
    const d = diffDocs(docOf(p(words.join(' '))), newer)
    expect(d.coarse).toBe(false)
    expect(insertedText(newer, d)).toEqual(['CHANGED'])
    expect(d.deleted.map((x) => x.text)).toEqual(['w100000'])
  })

  it('a big document with every block changed: blocks beyond the budget are highlighted whole, and the marks are capped', () => {
    const n = 5000
    const older = docOf(...Array.from({ length: n }, (_, i) => p(`block ${i} says something ${i}`)))
    const newer = docOf(...Array.from({ length: n }, (_, i) => p(`block ${i} says anything ${i}`)))
    const d = diffDocs(older, newer, { work: 200_000, marks: 1000 })
    expect(d.coarse).toBe(true)
    const marks = d.inserted.length + d.deleted.length + d.insertedBlocks.length + d.deletedBlocks.length
    expect(marks).toBeLessThanOrEqual(1000)
    // every block is shown changed one way or the other
    const wordByWord = d.inserted.length
    expect(wordByWord + d.changedBlocks.length).toBe(n)
  })

  it('block alignment itself over the budget: everything between the common ends is highlighted', () => {
    const older = docOf(p('same start'), ...Array.from({ length: 3000 }, (_, i) => p(`old ${i}`)), p('same end'))
    const newer = docOf(p('same start'), ...Array.from({ length: 3000 }, (_, i) => p(`new ${i} ${i}`)), p('same end'))
    const d = diffDocs(older, newer, { work: 10_000 })
    expect(d.coarse).toBe(true)
    expect(d.changedBlocks).toHaveLength(3000)
  })
})

describe('diffDocs: long documents', () => {
  it('scattered edits in 20,000 paragraphs are still shown word by word (anchors split the alignment)', () => {
    const n = 20_000
    const older = docOf(...Array.from({ length: n }, (_, i) => p(`paragraph ${i} says something`)))
    const newer = docOf(...Array.from({ length: n }, (_, i) => p(i % 100 === 0 ? `paragraph ${i} says nothing` : `paragraph ${i} says something`)))
    const d = diffDocs(older, newer)
    expect(d.coarse).toBe(false)
    expect(d.inserted.map((r) => newer.textBetween(r.from, r.to))).toEqual(Array.from({ length: n / 100 }, () => 'nothing'))
    expect(d.deleted).toHaveLength(n / 100)
  })

  it('a moved paragraph is one deletion and one insertion, the rest untouched', () => {
    const older = docOf(p('One.'), p('Two.'), p('Three.'), p('Four.'))
    const newer = docOf(p('One.'), p('Three.'), p('Four.'), p('Two.'))
    const d = diffDocs(older, newer)
    expect(d.deletedBlocks.map((x) => x.text)).toEqual(['Two.'])
    expect(d.insertedBlocks.map((r) => newer.nodeAt(r.from)!.textContent)).toEqual(['Two.'])
  })
})
