#!/usr/bin/env node
// Work the Yjs↔ProseMirror binding (@tiptap/y-tiptap) does per keystroke in a long document,
// stock against this repository's patch (patches/, docs/y-tiptap-patch.md), counted rather than
// timed (a shared machine's timings are noise): ProseMirror nodes built, lookups in the
// binding's Y↔PM mapping, size of the replace step sent to the view. Timings are printed too.
// A ProseMirror EditorView in happy-dom, no browser: what is measured is the binding's own work.
//
//   node src/editor/binding-work.mjs [--paragraphs 3000] [--chars 333] [--keys 50]
import { register } from 'node:module'
import { parseArgs } from 'node:util'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { join } from 'node:path'
import { Window } from 'happy-dom'
import { REPO_DIR } from '../paths.mjs'

const { values: o } = parseArgs({ options: { paragraphs: { type: 'string', default: '3000' }, chars: { type: 'string', default: '333' }, keys: { type: 'string', default: '50' } } })
const PARAGRAPHS = Number(o.paragraphs)
const CHARS = Number(o.chars)
const KEYS = Number(o.keys)

// `…/y-tiptap.js?stock` is the same file with the patch reversed (git apply -R on a copy): a
// second module instance, resolving its imports from the same place.
const PATCH = join(REPO_DIR, 'patches', '@tiptap__y-tiptap@3.0.9.patch')
register(`data:text/javascript,${encodeURIComponent(`
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
export async function load (url, context, next) {
  if (!url.endsWith('?stock')) return next(url, context)
  const file = fileURLToPath(url.slice(0, -'?stock'.length))
  const dir = mkdtempSync(join(tmpdir(), 'binding-work-'))
  try {
    mkdirSync(join(dir, 'dist'))
    copyFileSync(file, join(dir, 'dist', 'y-tiptap.js'))
    execFileSync('git', ['apply', '-R', '--include=dist/y-tiptap.js', ${JSON.stringify(PATCH)}], { cwd: dir, stdio: 'pipe' })
    return { format: 'module', source: readFileSync(join(dir, 'dist', 'y-tiptap.js'), 'utf8'), shortCircuit: true }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}`)}`)

// A DOM for prosemirror-view, before it is imported (it reads navigator and document on load).
const window = new Window({ url: 'http://localhost/' })
const w = /** @type {any} */ (window)
const globals = {
  window, document: w.document, navigator: w.navigator, Node: w.Node, Element: w.Element, HTMLElement: w.HTMLElement, Text: w.Text,
  MutationObserver: w.MutationObserver, DOMParser: w.DOMParser,
  getSelection: () => w.getSelection(), getComputedStyle: (/** @type {any} */ e) => w.getComputedStyle(e),
  requestAnimationFrame: (/** @type {any} */ f) => w.requestAnimationFrame(f), cancelAnimationFrame: (/** @type {any} */ h) => w.cancelAnimationFrame(h),
}
for (const [k, v] of Object.entries(globals)) Object.defineProperty(globalThis, k, { value: v, configurable: true, writable: true })

const Y = await import('yjs')
const { EditorState, TextSelection } = await import('@tiptap/pm/state')
const { EditorView } = await import('@tiptap/pm/view')
const { getSchema } = await import('@tiptap/core')
const StarterKit = (await import('@tiptap/starter-kit')).default
const require = createRequire(import.meta.url)
const yTiptapFile = require.resolve('@tiptap/y-tiptap').replace(/y-tiptap\.cjs$/, 'y-tiptap.js')
const bindings = {
  stock: await import(`${pathToFileURL(yTiptapFile).href}?stock`),
  patched: await import(pathToFileURL(yTiptapFile).href),
}
const schema = getSchema([StarterKit.configure({ undoRedo: false, trailingNode: false })])

/** Counts calls of Map methods on the binding's mapping. */
class CountingMap extends Map {
  counts = { get: 0, set: 0, delete: 0 }
  /** @param {any} k */ get (k) { this.counts.get++; return super.get(k) }
  /** @param {any} k @param {any} v */ set (k, v) { if (this.counts) this.counts.set++; return super.set(k, v) }
  /** @param {any} k */ delete (k) { this.counts.delete++; return super.delete(k) }
}

const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

/** @param {'stock' | 'patched'} which */
function measure (which) {
  const { ySyncPlugin, ySyncPluginKey } = bindings[which]
  const local = new Y.Doc()
  const remote = new Y.Doc()
  local.on('update', (/** @type {Uint8Array} */ u, /** @type {unknown} */ origin) => { if (origin !== 'net') Y.applyUpdate(remote, u, 'net') })
  remote.on('update', (/** @type {Uint8Array} */ u, /** @type {unknown} */ origin) => { if (origin !== 'net') Y.applyUpdate(local, u, 'net') })
  const fragment = remote.getXmlFragment('default')
  remote.transact(() => {
    fragment.insert(0, Array.from({ length: PARAGRAPHS }, (_, i) => {
      const p = new Y.XmlElement('paragraph')
      p.insert(0, [new Y.XmlText(`${i} ${'lorem ipsum dolor sit amet '.repeat(Math.ceil(CHARS / 27))}`.slice(0, CHARS))])
      return p
    }))
  })
  const place = w.document.createElement('div')
  w.document.body.append(place)
  const view = new EditorView(place, { state: EditorState.create({ schema, plugins: [ySyncPlugin(local.getXmlFragment('default'))] }) })
  const binding = ySyncPluginKey.getState(view.state).binding
  const mapping = new CountingMap(binding.mapping)
  binding.mapping = mapping
  // count the ProseMirror nodes the binding builds
  let built = 0
  const node = schema.node.bind(schema)
  schema.node = (/** @type {any[]} */ ...args) => { built++; return node(...args) }
  let replaced = 0
  view.setProps({
    dispatchTransaction: (tr) => {
      for (const step of tr.steps) {
        const j = step.toJSON()
        replaced += (j.to ?? 0) - (j.from ?? 0)
      }
      view.updateState(view.state.apply(tr))
    },
  })
  const mid = Math.floor(PARAGRAPHS / 2)
  const startOf = (/** @type {number} */ i) => { let p = 0; for (let k = 0; k < i; k++) p += view.state.doc.child(k).nodeSize; return p }
  const reset = () => { mapping.counts = { get: 0, set: 0, delete: 0 }; built = 0; replaced = 0 }

  // remote keystrokes into paragraph `mid`
  const remoteMs = []
  reset()
  for (let k = 0; k < KEYS; k++) {
    const t = /** @type {Y.XmlText} */ (/** @type {Y.XmlElement} */ (fragment.get(mid)).get(0))
    const t0 = performance.now()
    t.insert(t.length, 'x')
    remoteMs.push(performance.now() - t0)
  }
  const remoteCounts = { ...mapping.counts, built, replaced }
  // local keystrokes at the end of paragraph `mid + 100`
  const localMs = []
  reset()
  for (let k = 0; k < KEYS; k++) {
    const pos = startOf(mid + 100) + view.state.doc.child(mid + 100).nodeSize - 1
    const t0 = performance.now()
    view.dispatch(view.state.tr.setSelection(TextSelection.create(view.state.doc, pos)).insertText('y'))
    localMs.push(performance.now() - t0)
  }
  const localCounts = { ...mapping.counts, built }
  if (fragment.toString() !== local.getXmlFragment('default').toString()) throw new Error(`${which}: documents differ`)
  view.destroy()
  place.remove()
  schema.node = node
  return { remote: { ms: median(remoteMs), per: perKey(remoteCounts) }, local: { ms: median(localMs), per: perKey(localCounts) } }
}

const perKey = (/** @type {Record<string, number>} */ c) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, Math.round(v / KEYS)]))

console.log(`${PARAGRAPHS} paragraphs × ${CHARS} characters, ${KEYS} keystrokes each way, per keystroke (median ms, noisy):`)
for (const which of /** @type {const} */ (['stock', 'patched'])) {
  const r = measure(which)
  console.log(`${which.padEnd(8)} remote: ${r.remote.ms.toFixed(2)} ms, nodes built ${r.remote.per.built}, mapping get/set/delete ${r.remote.per.get}/${r.remote.per.set}/${r.remote.per.delete}, replaced ${r.remote.per.replaced} positions`)
  console.log(`${''.padEnd(8)} local:  ${r.local.ms.toFixed(2)} ms, mapping get/set/delete ${r.local.per.get}/${r.local.per.set}/${r.local.per.delete}`)
}
await window.happyDOM.close()
