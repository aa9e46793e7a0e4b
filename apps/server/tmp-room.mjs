import * as Y from 'yjs'
import * as ap from 'y-protocols/awareness'
const N = 5000
const measure = (label, make) => {
  global.gc(); global.gc()
  const before = process.memoryUsage().heapUsed
  const keep = []
  for (let i = 0; i < N; i++) keep.push(make(i))
  global.gc(); global.gc()
  console.log(label, ((process.memoryUsage().heapUsed - before) / N).toFixed(0), 'B each')
  return keep
}
let k1 = measure('Y.Doc', () => new Y.Doc({ gc: true }))
k1 = null
let k2 = measure('Y.Doc+Awareness', () => { const d = new Y.Doc({ gc: true }); const a = new ap.Awareness(d); a.setLocalState(null); return a })
k2 = null
let k3 = measure('Map', () => new Map())
let k4 = measure('Set', () => new Set())
let k5 = measure('Promise.resolve', () => Promise.resolve())
let k6 = measure('Y.Doc + getXmlFragment + text', () => { const d = new Y.Doc(); d.getXmlFragment('default'); return d })
