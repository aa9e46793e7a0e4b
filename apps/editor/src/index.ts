/**
 * @tandem/editor — the embeddable Tandem editor.
 *
 *   import { mountEditor } from '@tandem/editor'
 *   const { editor, provider, doc, destroy } = mountEditor(el, { url, room, user })
 *
 * Importing this module also registers <collab-editor>.
 */
import { defineCollabEditor } from './collab-editor.js'

export { mountEditor, type MountEditorOptions, type MountedEditor } from './mount-editor.js'
export { CollabEditorElement, defineCollabEditor } from './collab-editor.js'
export { DOCUMENT_FIELD } from './extensions.js'
export { colorForName, generateName, type EditorUser } from './identity.js'
export { randomRoomId, serverUrl, toWebSocketUrl } from './location.js'
export { mountPresence, participants, type Participant } from './presence.js'
export { mountConnectionBadge, type BadgeState } from './connection-badge.js'
export type { SaveState } from './save-state.js'

defineCollabEditor()
