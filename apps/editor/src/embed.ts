import './styles/page.css'
import { mountEditor, type MountedEditor } from './mount-editor.js'
import { CollabEditorElement, defineCollabEditor } from './collab-editor.js'
import { colorForName } from './identity.js'
import { devServerUrl, ensureRoom, serverUrl } from './location.js'

/**
 * /embed.html?room=<room>[&server=<ws url>]: the two ways to embed Tandem, side by side and
 * bound to the same room. Each pane has its own Y.Doc, awareness and WebSocket, exactly like
 * two unrelated widgets on a customer's page; "Remove" calls destroy() / removes the element.
 */
defineCollabEditor()
const params = new URLSearchParams(location.search)
const room = ensureRoom()
const url = serverUrl(location, devServerUrl())
const token = params.get('token') ?? undefined
const leftName = params.get('left') || 'Ada (embed)'
const rightName = params.get('right') || 'Grace (embed)'

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T
$('room-name').textContent = room
const pageLink = new URL('./', location.href)
pageLink.search = new URLSearchParams({ room, ...(params.get('server') ? { server: params.get('server')! } : {}) }).toString()
$<HTMLAnchorElement>('open-page').href = pageLink.toString()

// Left: the function.
let left: MountedEditor | undefined
const mountLeft = () => {
  left = mountEditor($('left'), { url, room, token, user: { name: leftName, color: colorForName(leftName) } })
  // The document's title (first heading) in the tab, as on the editor page.
  left.onTitleChange((title) => {
    document.title = `${title || room} · Tandem embed demo`
  })
}

// Right: the custom element, configured purely by attributes.
let right: CollabEditorElement | undefined
const mountRight = () => {
  right = document.createElement('collab-editor')
  right.setAttribute('server', url)
  right.setAttribute('room', room)
  right.setAttribute('user-name', rightName)
  right.setAttribute('user-color', colorForName(rightName))
  if (token) right.setAttribute('token', token)
  // The element tells its title with an event; the pane's heading shows it.
  right.addEventListener('titlechange', (ev) => {
    $('right-doc-title').textContent = (ev as CustomEvent<string>).detail
  })
  $('right').append(right)
}

const toggle = (button: HTMLButtonElement, mount: () => void, unmount: () => void) => {
  button.addEventListener('click', () => {
    const mounted = button.dataset.mounted === 'true'
    if (mounted) unmount()
    else mount()
    button.dataset.mounted = String(!mounted)
    button.textContent = mounted ? 'Add' : 'Remove'
  })
}
toggle($('toggle-left'), mountLeft, () => {
  left?.destroy()
  left = undefined
})
toggle($('toggle-right'), mountRight, () => {
  right?.remove()
  right = undefined
})

mountLeft()
mountRight()
