import type { Awareness } from 'y-protocols/awareness'
import { cleanName, initials, isValidColor } from './identity.js'

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
  awareness.on('change', render)
  render()
  return () => {
    awareness.off('change', render)
    list.remove()
  }
}
