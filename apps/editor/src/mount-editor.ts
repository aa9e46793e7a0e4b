import { Editor } from '@tiptap/core'
import type { EditorState, Transaction } from '@tiptap/pm/state'
import * as Y from 'yjs'
import { Awareness, removeAwarenessStates } from 'y-protocols/awareness'
import { SyncProvider, sharedWebSocket, type WebSocketConstructor } from '@tandem/sync/provider'
import { collabExtensions, type EditorHandlers } from './extensions.js'
import { cleanName, colorForName, isValidColor, type EditorUser } from './identity.js'
import { createToolbar } from './toolbar.js'
import { createLinkPopover } from './link-popover.js'
import { downloadHtml, downloadMarkdown } from './export.js'
import { watchTitle } from './title.js'
import { mountPresence } from './presence.js'
import { mountConnectionBadge } from './connection-badge.js'
import { saveStateOf, type SaveState } from './save-state.js'
import { openLocalCopy } from './local-copy.js'
import { injectStyles } from './styles.js'
import { mountHistoryPanel } from './history/panel.js'
import { forgetUndoOnRestore } from './history/restore-undo.js'
import { createUploadClient } from './images/upload-client.js'
import { mountImages } from './images/mount-images.js'
import type { ImageHooks } from './images/uploads-plugin.js'

export interface MountEditorOptions {
  /** WebSocket base URL of the Tandem server, e.g. `wss://docs.example.com` (several = failover). */
  url: string | string[]
  /** Room (document) name; everyone with the same url + room edits the same document. */
  room: string
  /** Shown next to your caret and in the presence list. `color` must be `#rrggbb`. */
  user: EditorUser
  /** JWT for servers with AUTH_SECRET, or a function returning a fresh one on every (re)connect. */
  token?: string | (() => string | Promise<string>)
  /** false = read-only view (still live, still shows carets). Default true. */
  editable?: boolean
  /** Render the formatting toolbar. Default true. */
  toolbar?: boolean
  /** Render the status bar (connection badge + people). Default true. */
  statusBar?: boolean
  /** Keep a copy in IndexedDB so the document opens offline and edits survive a closed tab. Default false. */
  offline?: boolean
  /** Text shown in an empty document. */
  placeholder?: string
  /**
   * Share edits with other tabs of this browser on the same room over BroadcastChannel, so
   * they stay in step while offline. Default true (the provider's default in browsers).
   */
  crossTab?: boolean
  /** Show the History panel's toolbar button (version history, with the toolbar). Default true. */
  history?: boolean
  /**
   * Share one WebSocket per server between every editor of this page (the `tandem-mux-v1`
   * subprotocol, docs/protocol.md "Many rooms over one connection"), instead of one socket per
   * editor. Default true; false for a server that does not speak it.
   */
  shareConnection?: boolean
  /**
   * 'auto' (default): WebSocket, falling back to HTTP long-polling where a proxy or network
   * blocks WebSockets and moving back when they work (docs/protocol.md "HTTP transport");
   * 'websocket' or 'http' forces one.
   */
  transport?: 'auto' | 'websocket' | 'http'
  /** WebSocket implementation (tests, non-browser hosts). Default: globalThis.WebSocket. */
  WebSocket?: WebSocketConstructor
}

/**
 * One shared-socket class per WebSocket implementation, for the whole page: every editor
 * mounted with the same implementation (normally the browser's) joins the same socket per
 * server. Weak: an implementation nobody uses any more takes its sockets with it.
 */
const sharedClasses = new WeakMap<WebSocketConstructor, WebSocketConstructor>()
function webSocketFor(options: MountEditorOptions): WebSocketConstructor | undefined {
  const Impl = options.WebSocket ?? globalThis.WebSocket
  if (options.shareConnection === false || Impl === undefined) return Impl
  let shared = sharedClasses.get(Impl)
  if (!shared) sharedClasses.set(Impl, (shared = sharedWebSocket(Impl)))
  return shared
}

export interface MountedEditor {
  editor: Editor
  provider: SyncProvider
  doc: Y.Doc
  awareness: Awareness
  /** Whether every local edit is confirmed stored by the server, with change events. */
  saveState: SaveState
  /** The document's title: the text of its first heading ('' without one). */
  readonly title: string
  /** Calls `listener` whenever the title changes; returns the function that stops it. */
  onTitleChange(listener: (title: string) => void): () => void
  /** Change the name/colour others see (presence list and caret label). */
  setUser(user: EditorUser): void
  setEditable(editable: boolean): void
  /** Closes the connection and removes every listener, timer and DOM node this call created. */
  destroy(): void
}

/**
 * The `access` claim of a JWT, decoded WITHOUT verifying it: only to shape the UI (a read token
 * gets a read-only editor and a banner). The server checks the signature and drops a read
 * connection's document updates whatever the page does.
 */
function tokenAccess(token: MountEditorOptions['token']): 'read' | 'write' | undefined {
  if (typeof token !== 'string') return undefined
  try {
    const b64 = token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes))
    const access = typeof claims === 'object' && claims !== null && 'access' in claims ? claims.access : undefined
    return access === 'read' || access === 'write' ? access : undefined
  } catch {
    return undefined
  }
}

/** From this many top-level blocks on, a document is rendered as a long one (data-long). */
const LONG_DOCUMENT_BLOCKS = 200

const normalizeUser = (user: EditorUser): EditorUser => {
  const name = cleanName(user?.name) || 'Anonymous'
  return { name, color: isValidColor(user?.color) ? user.color : colorForName(name) }
}

/**
 * Mounts a collaborative editor into `element`: Tiptap bound to the room's Y.XmlFragment
 * 'default', live carets with names, a toolbar and a status bar.
 */
export function mountEditor(element: HTMLElement, options: MountEditorOptions): MountedEditor {
  if (!(element instanceof HTMLElement)) throw new TypeError('mountEditor: element must be an HTMLElement')
  if (!options?.room) throw new TypeError('mountEditor: options.room is required')
  if (!options.url || (Array.isArray(options.url) && options.url.length === 0)) {
    throw new TypeError('mountEditor: options.url is required')
  }
  const ownerDocument = element.ownerDocument
  injectStyles(ownerDocument)
  const readOnly = tokenAccess(options.token) === 'read'

  let user = normalizeUser(options.user)
  const doc = new Y.Doc()
  const awareness = new Awareness(doc)
  // One IndexedDB database per server URL(s) + room: another room, or the same room name on another
  // server, never sees this document. What it replays on open counts as local changes until the
  // server acknowledges them (docs/protocol.md, "Client bookkeeping", rule 1): edits made offline
  // in an earlier visit are sent and confirmed like any other.
  // Updates from the server are written in batches (local-copy.ts): `origin === provider`.
  let serverOrigin: unknown = Symbol('no provider yet')
  const localCopy = options.offline ? openLocalCopy(`tandem:${String(options.url)}:${options.room}`, doc, (origin) => origin === serverOrigin) : undefined
  const webSocket = webSocketFor(options)
  const provider = new SyncProvider({
    url: options.url,
    room: options.room,
    doc,
    awareness,
    token: options.token,
    ...(webSocket ? { WebSocket: webSocket } : {}),
    ...(options.transport ? { transport: options.transport } : {}),
    ...(options.crossTab !== undefined ? { crossTab: options.crossTab } : {}),
  })
  serverOrigin = provider
  const saveState = saveStateOf(provider, localCopy !== undefined)

  const root = ownerDocument.createElement('div')
  root.className = 'tandem'
  if (options.placeholder !== undefined) root.style.setProperty('--tandem-placeholder', JSON.stringify(options.placeholder))
  const surface = ownerDocument.createElement('div')
  surface.className = 'tandem-surface'
  root.append(surface)
  if (readOnly) {
    const banner = ownerDocument.createElement('div')
    banner.className = 'tandem-readonly-banner'
    banner.dataset.testid = 'read-only-banner'
    banner.setAttribute('role', 'status')
    banner.textContent = 'View only: you see every change live, but cannot edit.'
    root.prepend(banner)
  }
  element.append(root)

  // The shortcuts' targets exist only once the editor does: filled in below.
  const handlers: EditorHandlers = { editLink: () => false, focusToolbar: () => false }
  // Images go to (and come from) the server's upload endpoint; the notice is wired in below.
  const imageHooks: ImageHooks = { client: createUploadClient(options.url, options.room, options.token), refused: () => {} }
  const editor = new Editor({
    element: surface,
    editable: options.editable !== false && !readOnly,
    extensions: collabExtensions({ doc, awareness, user, handlers, images: imageHooks }),
    editorProps: {
      // Read-only stays focusable (Tiptap drops tabindex when not editable): the caret plugin
      // shares a selection only while the view has focus, and viewers' carets must still show.
      attributes: { 'aria-label': 'Document', 'aria-multiline': 'true', role: 'textbox', spellcheck: 'true', ...(readOnly ? { tabindex: '0', 'aria-readonly': 'true' } : {}) },
    },
  })

  const cleanups: Array<() => void> = [forgetUndoOnRestore(editor, doc)]
  let title = ''
  const titleListeners = new Set<(title: string) => void>()
  cleanups.push(
    watchTitle(editor, (next) => {
      title = next
      for (const listener of titleListeners) listener(next)
    }),
    () => titleListeners.clear(),
  )
  const exportTitle = () => title || options.room

  const linkPopover = createLinkPopover(editor, root)
  cleanups.push(() => linkPopover.destroy())
  handlers.editLink = () => linkPopover.edit()
  const images = mountImages(editor, root, imageHooks)
  cleanups.push(() => images.destroy())

  if (options.toolbar !== false) {
    const bar = createToolbar(
      editor,
      {
        editLink: () => linkPopover.edit(),
        pickImage: () => images.pick(),
        downloadMarkdown: () => downloadMarkdown(editor, exportTitle()),
        downloadHtml: () => downloadHtml(editor, exportTitle()),
        print: () => ownerDocument.defaultView?.print(),
      },
      { readOnly },
    )
    root.prepend(bar.element)
    handlers.focusToolbar = () => {
      bar.focus()
      return true
    }
    cleanups.push(() => bar.destroy())
    if (options.history !== false && !readOnly) {
      const history = mountHistoryPanel({ root, surface, toolbar: bar.element, editor, url: options.url, room: options.room, token: options.token })
      cleanups.push(() => history.destroy())
    }
  }
  if (options.statusBar !== false) {
    const bar = ownerDocument.createElement('div')
    bar.className = 'tandem-statusbar'
    root.append(bar)
    cleanups.push(mountConnectionBadge(bar, provider, saveState), mountPresence(bar, awareness), () => bar.remove())
  }

  const showEmpty = () => root.toggleAttribute('data-empty', editor.isEmpty)
  // Only a change of the document can make it (non-)empty: caret and awareness transactions skip it.
  const syncEmpty = ({ transaction }: { transaction: Transaction }) => {
    if (transaction.docChanged) showEmpty()
  }
  // Long documents render only the blocks on screen (styles/editor.css, data-long). Set before
  // the view renders the new state, so that opening a long document is already such a render.
  const markLong = ({ nextState }: { nextState: EditorState }) => {
    root.toggleAttribute('data-long', nextState.doc.childCount >= LONG_DOCUMENT_BLOCKS)
  }
  editor.on('transaction', syncEmpty)
  editor.on('beforeTransaction', markLong)
  showEmpty()
  markLong({ nextState: editor.state })
  cleanups.push(() => {
    editor.off('transaction', syncEmpty)
    editor.off('beforeTransaction', markLong)
  })

  // Leave the room visibly when the tab goes away instead of lingering until the awareness
  // timeout (30 s) on servers that do not clear a closed socket's state.
  const view = ownerDocument.defaultView
  const onPageHide = () => removeAwarenessStates(awareness, [doc.clientID], 'window unload')
  const onPageShow = (ev: PageTransitionEvent) => {
    // Restored from the back/forward cache: we are here again.
    if (ev.persisted) awareness.setLocalState({ user })
  }
  view?.addEventListener('pagehide', onPageHide)
  view?.addEventListener('pageshow', onPageShow)
  cleanups.push(() => {
    view?.removeEventListener('pagehide', onPageHide)
    view?.removeEventListener('pageshow', onPageShow)
  })

  // When the browser says the network is gone, the socket is dead or about to be, but no close
  // event may come for a long time (the provider's dead-link timer is 30 s). Go offline at
  // once so the badge tells the truth, and reconnect as soon as the network is back.
  let offlineDisconnect = false
  const onOffline = () => {
    // Already down (a retry pending, or stopped for good): the provider handles 'online' itself.
    if (provider.status === 'disconnected') return
    offlineDisconnect = true
    provider.disconnect()
  }
  const onOnline = () => {
    if (!offlineDisconnect) return
    offlineDisconnect = false
    provider.connect()
  }
  view?.addEventListener('offline', onOffline)
  view?.addEventListener('online', onOnline)
  cleanups.push(() => {
    view?.removeEventListener('offline', onOffline)
    view?.removeEventListener('online', onOnline)
  })

  // Closing the tab now could lose edits the server has not confirmed: ask first. That is the
  // case while connected with an acknowledgement pending. Not while offline with a local copy
  // (IndexedDB keeps them and the next visit sends them); without a local copy an offline edit
  // lives only in this tab, so ask then too. Never when the server does not acknowledge: we
  // would ask on every close. The listener exists only while it matters, since a
  // beforeunload listener keeps the page out of the back/forward cache.
  const onBeforeUnload = (ev: BeforeUnloadEvent) => {
    ev.preventDefault()
    ev.returnValue = ''
  }
  let guarding = false
  const syncUnloadGuard = () => {
    const atRisk = saveState.known && saveState.pending && (provider.status === 'connected' || !saveState.localCopy)
    if (atRisk === guarding) return
    guarding = atRisk
    if (atRisk) view?.addEventListener('beforeunload', onBeforeUnload)
    else view?.removeEventListener('beforeunload', onBeforeUnload)
  }
  const offSaveChange = saveState.onChange(syncUnloadGuard)
  provider.on('status', syncUnloadGuard)
  cleanups.push(() => {
    offSaveChange()
    provider.off('status', syncUnloadGuard)
    view?.removeEventListener('beforeunload', onBeforeUnload)
  })

  let destroyed = false
  return {
    editor,
    provider,
    doc,
    awareness,
    saveState,
    get title() {
      return title
    },
    onTitleChange(listener) {
      titleListeners.add(listener)
      return () => titleListeners.delete(listener)
    },
    setUser(next) {
      user = normalizeUser(next)
      if (!editor.isDestroyed) editor.commands.updateUser(user)
    },
    setEditable(editable) {
      editor.setEditable(editable && !readOnly)
    },
    destroy() {
      if (destroyed) return
      destroyed = true
      for (const cleanup of cleanups.reverse()) cleanup()
      // Editor first: its plugin views detach from awareness and clear our cursor. The
      // provider then tells peers we left and closes the socket.
      editor.destroy()
      provider.destroy()
      awareness.destroy()
      // Closes the database once its pending writes have committed; the data stays for the
      // next visit (clearData() would delete it).
      void localCopy?.destroy()
      doc.destroy()
      root.remove()
    },
  }
}
