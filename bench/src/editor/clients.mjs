// Node peers in the measured page's room: stock y-websocket providers over `ws`, editing the
// XmlFragment 'default' with the structure y-prosemirror reads (<paragraph> holding a Y.XmlText)
// and publishing carets in y-prosemirror's awareness format: `cursor: { anchor, head }` as
// Y.RelativePosition JSON into that text.
import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'

const COLORS = ['#1971c2', '#c2255c', '#2f9e44', '#e8590c', '#6741d9', '#0c8599', '#f08c00', '#5c940d', '#a61e4d', '#364fc7']

/** @param {string} wsBase @param {string} room @param {string} name */
export async function connectPeer (wsBase, room, name, color = COLORS[0]) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(wsBase, room, doc, { WebSocketPolyfill: /** @type {never} */ (WebSocket) })
  provider.awareness.setLocalStateField('user', { name, color })
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: not synced within 15 s`)), 15_000)
    if (provider.synced) { clearTimeout(timer); resolve(undefined) }
    provider.once('sync', () => { clearTimeout(timer); resolve(undefined) })
  })
  const fragment = doc.getXmlFragment('default')
  /** The first paragraph's text, created if the document is empty. */
  const text = () => {
    if (fragment.length === 0) {
      const p = new Y.XmlElement('paragraph')
      p.insert(0, [new Y.XmlText()])
      fragment.insert(0, [p])
    }
    const p = /** @type {Y.XmlElement} */ (fragment.get(0))
    if (p.length === 0) p.insert(0, [new Y.XmlText()])
    return /** @type {Y.XmlText} */ (p.get(0))
  }
  return {
    doc,
    provider,
    text,
    /** One keystroke: a character at the end, one transaction (one update on the wire). */
    type (/** @type {string} */ ch) {
      doc.transact(() => { const t = text(); t.insert(t.length, ch) })
    },
    /**
     * Replaces nothing: appends `paragraphs` paragraphs of `chars` characters each in one
     * transaction (the 1 MB document: 3,000 × 333).
     */
    seed (/** @type {number} */ paragraphs, /** @type {number} */ chars) {
      const words = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor '
      doc.transact(() => {
        const ps = []
        for (let i = 0; i < paragraphs; i++) {
          const line = `${i} ${words.repeat(Math.ceil(chars / words.length))}`.slice(0, chars)
          const p = new Y.XmlElement('paragraph')
          p.insert(0, [new Y.XmlText(line)])
          ps.push(p)
        }
        fragment.insert(fragment.length, ps)
      })
    },
    /** One keystroke at the end of paragraph `index` (which must exist), one transaction. */
    typeAt (/** @type {number} */ index, /** @type {string} */ ch) {
      doc.transact(() => {
        const t = /** @type {Y.XmlText} */ (/** @type {Y.XmlElement} */ (fragment.get(index)).get(0))
        t.insert(t.length, ch)
      })
    },
    /** Moves this peer's caret to `index` in the paragraph's text (a collapsed selection). */
    moveCaret (/** @type {number} */ index) {
      const t = text()
      const pos = Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(t, Math.min(index, t.length)))
      provider.awareness.setLocalStateField('cursor', { anchor: pos, head: pos })
    },
    destroy () {
      provider.destroy()
      doc.destroy()
    },
  }
}

/** @typedef {Awaited<ReturnType<typeof connectPeer>>} Peer */

export { COLORS }
