import * as Y from 'yjs'

/** A typist with a fixed Yjs client id: each call returns the update for one more character. */
export function typist(clientID: number): (ch: string) => Uint8Array {
  const doc = new Y.Doc()
  doc.clientID = clientID
  let last: Uint8Array = new Uint8Array()
  doc.on('update', (u: Uint8Array) => (last = u))
  return (ch: string) => {
    doc.getText('t').insert(doc.getText('t').length, ch)
    return last
  }
}
