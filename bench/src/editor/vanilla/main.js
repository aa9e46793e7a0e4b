/* global window, document, location */
// The reference page: Tiptap's documented collaboration setup and nothing else (StarterKit +
// Collaboration + CollaborationCaret over a stock y-websocket WebsocketProvider), pointed at the
// Tandem server, which speaks stock y-websocket. ?server=ws://host:port&room=<room>&name=<name>
import { Editor } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const params = new URLSearchParams(location.search)
const doc = new Y.Doc()
const provider = new WebsocketProvider(params.get('server') ?? 'ws://127.0.0.1:1234', params.get('room') ?? 'bench', doc)
const editor = new Editor({
  element: document.getElementById('editor'),
  extensions: [
    // Collaboration brings its own history (Yjs's): Tiptap's docs switch StarterKit's off.
    StarterKit.configure({ undoRedo: false }),
    Collaboration.configure({ document: doc }),
    CollaborationCaret.configure({ provider, user: { name: params.get('name') ?? 'vanilla', color: '#1971c2' } }),
  ],
})
editor.commands.focus('end')
Object.assign(window, { benchEditor: editor, benchProvider: provider })
