import type { Awareness } from 'y-protocols/awareness'
import { cleanName, initials, isValidColor, whiteReadsOn } from './identity.js'

export interface Participant {
  clientId: number
  name: string
  color: string
  self: boolean
}

/**
 * Everyone in the room with a `user` field in their awareness state, the local user first.
 * Awareness is untrusted peer input: names are cleaned and colours validated here.
 */
export function participants(awareness: Awareness): Participant[] {
  const list: Participant[] = []
  awareness.getStates().forEach((state, clientId) => {
    const user = (state as { user?: { name?: unknown; color?: unknown } } | null)?.user
    if (!user) return
    const name = cleanName(typeof user.name === 'string' ? user.name : '') || 'Anonymous'
    const color = isValidColor(user.color) ? user.color : '#868e96'
    list.push({ clientId, name, color, self: clientId === awareness.clientID })
  })
  return list.sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name) || a.clientId - b.clientId)
}

/**
 * Renders the live list of people in `container` (a <ul> of chips) and keeps it current.
 * Returns the function that stops listening and removes the list.
 */
export function mountPresence(container: HTMLElement, awareness: Awareness): () => void {
  const list = document.createElement('ul')
  list.className = 'tandem-presence'
  list.setAttribute('aria-label', 'People in this document')
  container.append(list)

  let last = ''
  const render = () => {
    const people = participants(awareness)
    // Awareness fires on every caret move; rebuild the DOM only when the list itself changed.
    const key = JSON.stringify(people)
    if (key === last) return
    last = key
    const items = people.map((p) => {
      const li = document.createElement('li')
      li.className = 'tandem-person'
      li.dataset.clientId = String(p.clientId)
      if (p.self) li.dataset.self = ''
      li.title = p.self ? `${p.name} (you)` : p.name
      const avatar = document.createElement('span')
      avatar.className = 'tandem-avatar'
      avatar.style.backgroundColor = p.color
      // Initials in white only where white reads (WCAG 4.5:1), else black.
      avatar.style.color = whiteReadsOn(p.color) ? '' : '#000'
      avatar.textContent = initials(p.name)
      avatar.setAttribute('aria-hidden', 'true')
      const name = document.createElement('span')
      name.className = 'tandem-person-name'
      name.textContent = p.name
      li.append(avatar, name)
      if (p.self) {
        const you = document.createElement('span')
        you.className = 'tandem-you'
        you.textContent = '(you)'
        li.append(you)
      }
      return li
    })
    list.replaceChildren(...items)
  }
  // Awareness 'change' fires on every caret move of every peer, and the list shows only who is
  // here and their name and colour: look further only when someone came or left, or when an
  // updated peer's `user` differs from what the list was built from.
  let shownUsers = new Map<number, unknown>()
  const userOf = (clientId: number): unknown => (awareness.getStates().get(clientId) as { user?: unknown } | null | undefined)?.user
  const sameUser = (a: unknown, b: unknown): boolean => {
    if (a === b) return true
    if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
    const x = a as { name?: unknown; color?: unknown }
    const y = b as { name?: unknown; color?: unknown }
    return x.name === y.name && x.color === y.color
  }
  const renderAll = () => {
    shownUsers = new Map([...awareness.getStates().keys()].map((id) => [id, userOf(id)]))
    render()
  }
  const onChange = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
    if (added.length > 0 || removed.length > 0 || updated.some((id) => !shownUsers.has(id) || !sameUser(shownUsers.get(id), userOf(id)))) renderAll()
  }
  awareness.on('change', onChange)
  renderAll()
  return () => {
    awareness.off('change', onChange)
    list.remove()
  }
}
