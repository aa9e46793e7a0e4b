import { mountEditor, type MountedEditor } from './mount-editor.js'
import { colorForName, generateName } from './identity.js'
import { serverUrl, toWebSocketUrl } from './location.js'

/** Attributes that need a new connection when they change. */
const CONNECTION_ATTRIBUTES = ['server', 'room', 'token', 'offline', 'separate-connection', 'transport'] as const
/** Attributes applied to the live editor in place. */
const LIVE_ATTRIBUTES = ['user-name', 'user-color', 'readonly'] as const

// SSR / non-DOM hosts import the library too; give them a harmless base class.
const Base: typeof HTMLElement = typeof HTMLElement === 'undefined' ? (class {} as typeof HTMLElement) : HTMLElement

/**
 * `<collab-editor server="wss://host" room="notes" user-name="Ada" user-color="#1971c2" token="…">`
 *
 * A thin element over mountEditor: it mounts when connected to the document and destroys
 * everything (socket, timers, listeners) when removed. Without `server` it uses the page's
 * own host; without `user-name` a friendly generated name. `readonly` makes it a live viewer.
 * The mounted editor, provider and Y.Doc are available as properties; `titlechange` events tell
 * the document's title (its first heading).
 */
export class CollabEditorElement extends Base {
  static get observedAttributes(): string[] {
    return [...CONNECTION_ATTRIBUTES, ...LIVE_ATTRIBUTES]
  }

  #mounted: MountedEditor | undefined
  #offTitle: (() => void) | undefined
  #generatedName: string | undefined
  #pending = false

  get editor() {
    return this.#mounted?.editor
  }
  get provider() {
    return this.#mounted?.provider
  }
  get doc() {
    return this.#mounted?.doc
  }
  get mounted(): MountedEditor | undefined {
    return this.#mounted
  }

  connectedCallback(): void {
    this.#scheduleMount()
  }

  disconnectedCallback(): void {
    this.#unmount()
  }

  attributeChangedCallback(name: string, oldValue: string | null, newValue: string | null): void {
    if (oldValue === newValue || !this.isConnected) return
    if ((CONNECTION_ATTRIBUTES as readonly string[]).includes(name)) {
      this.#unmount()
      this.#scheduleMount()
    } else if (this.#mounted) {
      if (name === 'readonly') this.#mounted.setEditable(!this.hasAttribute('readonly'))
      else this.#mounted.setUser(this.#user())
    }
  }

  #user() {
    const name = this.getAttribute('user-name')?.trim() || (this.#generatedName ??= generateName())
    return { name, color: this.getAttribute('user-color') || colorForName(name) }
  }

  // Several attributes are often set one after another right after creation: mount once, on
  // the next microtask, with all of them.
  #scheduleMount(): void {
    if (this.#pending) return
    this.#pending = true
    queueMicrotask(() => {
      this.#pending = false
      if (this.isConnected && !this.#mounted) this.#mount()
    })
  }

  #mount(): void {
    const room = this.getAttribute('room')
    if (!room) return // nothing to join yet; setting `room` later mounts
    const server = this.getAttribute('server')
    const url = server ? toWebSocketUrl(server, location) : serverUrl(location)
    const token = this.getAttribute('token') || undefined
    this.#mounted = mountEditor(this, {
      url,
      room,
      user: this.#user(),
      token,
      editable: !this.hasAttribute('readonly'),
      offline: this.hasAttribute('offline'),
      history: !this.hasAttribute('no-history'),
      shareConnection: !this.hasAttribute('separate-connection'),
      transport: transportOf(this.getAttribute('transport')),
    })
    // `titlechange`: the document's first heading changed (detail: the title, '' for none).
    this.#offTitle = this.#mounted.onTitleChange((title) => this.dispatchEvent(new CustomEvent('titlechange', { detail: title })))
    this.dispatchEvent(new CustomEvent('ready', { detail: this.#mounted }))
  }

  #unmount(): void {
    this.#offTitle?.()
    this.#offTitle = undefined
    this.#mounted?.destroy()
    this.#mounted = undefined
  }
}

/** The `transport` attribute: one of the provider's modes; anything else is the default ('auto'). */
function transportOf(value: string | null): 'auto' | 'websocket' | 'http' {
  return value === 'websocket' || value === 'http' ? value : 'auto'
}

/** Registers the element (idempotent). Returns the constructor registered under `tag`. */
export function defineCollabEditor(tag = 'collab-editor'): CustomElementConstructor | undefined {
  if (typeof customElements === 'undefined') return undefined
  const existing = customElements.get(tag)
  if (existing) return existing
  // A distinct subclass per tag: one constructor cannot be registered under two names.
  const ctor = tag === 'collab-editor' ? CollabEditorElement : class extends CollabEditorElement {}
  customElements.define(tag, ctor)
  return ctor
}

declare global {
  interface HTMLElementTagNameMap {
    'collab-editor': CollabEditorElement
  }
}
