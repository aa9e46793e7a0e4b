import { Editor, type JSONContent } from '@tiptap/core'
import { documentExtensions } from '@tandem/schema'
import { colorForName } from '../identity.js'
import css from './history.css?inline'
import { createVersionsClient, roomApiUrl, type TokenSource, type Version } from './api.js'

/**
 * The History panel: a toolbar button (`data-testid="history-button"`) opens a list of the room's
 * versions (time, name, author avatars; refreshed while open, so a version taken meanwhile
 * appears). Selecting one shows it read-only in place of the live document, with the blocks that
 * changed since highlighted; from there it can be restored or named.
 */

export interface HistoryPanelOptions {
  root: HTMLElement
  /** the live editor's surface: hidden while a version is shown */
  surface: HTMLElement
  toolbar: HTMLElement
  /** the live editor: what a version is compared with */
  editor: Editor
  url: string | string[]
  room: string
  token: TokenSource
}

/** While open, the list is fetched again this often (a version appears without reopening). */
const REFRESH_MS = 3000
const STYLE_MARK = 'data-tandem-history-style'

const KIND_LABEL: Record<Version['kind'], string> = {
  auto: 'Edits',
  named: 'Named version',
  'before-restore': 'Before a restore',
  'before-replace': 'Before a replacement',
}

export function mountHistoryPanel(o: HistoryPanelOptions): { destroy(): void } {
  const doc = o.root.ownerDocument
  if (!doc.head.querySelector(`style[${STYLE_MARK}]`)) {
    const style = doc.createElement('style')
    style.setAttribute(STYLE_MARK, '')
    style.textContent = css
    doc.head.prepend(style)
  }
  const api = createVersionsClient(roomApiUrl(o.url, o.room), o.token)

  const button = doc.createElement('button')
  button.type = 'button'
  button.className = 'tandem-tool tandem-history-button'
  button.dataset.testid = 'history-button'
  button.setAttribute('aria-label', 'Version history')
  button.setAttribute('aria-pressed', 'false')
  button.title = 'Version history'
  button.textContent = 'History'
  // One of the toolbar's buttons: out of the tab order (the toolbar has one tab stop; the arrow
  // keys reach it), in a group of its own before the last group (export stays the End of the row).
  button.tabIndex = -1
  const group = doc.createElement('div')
  group.className = 'tandem-toolbar-group'
  group.append(button)
  o.toolbar.insertBefore(group, o.toolbar.lastElementChild)

  const panel = doc.createElement('aside')
  panel.className = 'tandem-history'
  panel.dataset.testid = 'history-panel'
  panel.setAttribute('aria-label', 'Version history')
  panel.hidden = true
  const heading = doc.createElement('div')
  heading.className = 'tandem-history-head'
  const title = doc.createElement('strong')
  title.textContent = 'Version history'
  const nameNow = action('Name current version', 'name-current-version')
  heading.append(title, nameNow)
  const status = doc.createElement('div')
  status.className = 'tandem-history-status'
  status.setAttribute('role', 'status')
  const list = doc.createElement('ol')
  list.className = 'tandem-history-list'
  panel.append(heading, status, list)
  o.root.append(panel)

  // The selected version, shown in place of the live document.
  const preview = doc.createElement('div')
  preview.className = 'tandem-history-preview'
  preview.dataset.testid = 'version-preview'
  preview.hidden = true
  const previewBar = doc.createElement('div')
  previewBar.className = 'tandem-history-preview-bar'
  const previewTitle = doc.createElement('span')
  const restoreButton = action('Restore this version', 'restore-version')
  const nameButton = action('Name this version', 'name-version')
  const backButton = action('Back to the document', 'close-version')
  previewBar.append(previewTitle, restoreButton, nameButton, backButton)
  const previewSurface = doc.createElement('div')
  previewSurface.className = 'tandem-history-preview-surface'
  preview.append(previewBar, previewSurface)
  o.surface.after(preview)

  let versions: Version[] = []
  let selected: Version | undefined
  let viewer: Editor | undefined
  let timer: ReturnType<typeof setInterval> | undefined
  let destroyed = false

  function action(label: string, testid: string): HTMLButtonElement {
    const b = doc.createElement('button')
    b.type = 'button'
    b.className = 'tandem-history-action'
    b.dataset.testid = testid
    b.textContent = label
    return b
  }

  const say = (text: string) => (status.textContent = text)

  async function refresh(): Promise<void> {
    try {
      const next = await api.list()
      if (destroyed) return
      versions = next
      render()
      if (status.textContent?.startsWith('Could not')) say('')
    } catch (err) {
      say(`Could not load the history: ${(err as Error).message}`)
    }
  }

  function render(): void {
    list.replaceChildren(
      ...versions.map((v) => {
        const item = doc.createElement('li')
        const pick = doc.createElement('button')
        pick.type = 'button'
        pick.className = 'tandem-history-item'
        pick.dataset.testid = 'version-item'
        pick.dataset.versionId = String(v.id)
        pick.setAttribute('aria-current', String(selected?.id === v.id))
        const when = doc.createElement('span')
        when.className = 'tandem-history-time'
        when.textContent = new Date(v.time).toLocaleString()
        const label = doc.createElement('span')
        label.className = 'tandem-history-name'
        label.textContent = v.name ?? KIND_LABEL[v.kind]
        const people = doc.createElement('span')
        people.className = 'tandem-history-authors'
        for (const a of v.authors) people.append(avatar(a.name ?? a.id ?? '?'))
        pick.append(when, label, people)
        item.append(pick)
        return item
      }),
    )
  }

  function avatar(name: string): HTMLElement {
    const a = doc.createElement('span')
    a.className = 'tandem-history-avatar'
    a.title = name
    a.style.backgroundColor = colorForName(name)
    a.textContent = name.trim().slice(0, 1).toUpperCase() || '?'
    return a
  }

  async function show(v: Version): Promise<void> {
    let content: JSONContent
    try {
      content = await api.content(v.id)
    } catch (err) {
      return void say(`Could not open the version: ${(err as Error).message}`)
    }
    if (destroyed) return
    selected = v
    viewer?.destroy()
    viewer = new Editor({ element: previewSurface, editable: false, extensions: documentExtensions(), content })
    highlightChanges(viewer)
    previewTitle.textContent = `${v.name ?? KIND_LABEL[v.kind]}, ${new Date(v.time).toLocaleString()}`
    preview.hidden = false
    o.surface.hidden = true
    render()
  }

  /**
   * The version's blocks that the live document no longer has as they were are marked (changed
   * or removed since); the count of live blocks the version lacks is shown (added since).
   */
  function highlightChanges(view: Editor): void {
    const live = new Map<string, number>()
    o.editor.state.doc.forEach((node) => live.set(node.textContent, (live.get(node.textContent) ?? 0) + 1))
    const old = new Set<string>()
    const dom = view.view.dom
    view.state.doc.forEach((node, _offset, index) => {
      old.add(node.textContent)
      const n = live.get(node.textContent) ?? 0
      if (n > 0) live.set(node.textContent, n - 1)
      else dom.children[index]?.classList.add('tandem-history-changed')
    })
    let added = 0
    o.editor.state.doc.forEach((node) => {
      if (!old.has(node.textContent)) added++
    })
    say(added > 0 ? `${added} block${added === 1 ? '' : 's'} added or changed since this version` : '')
  }

  function closePreview(): void {
    viewer?.destroy()
    viewer = undefined
    selected = undefined
    preview.hidden = true
    o.surface.hidden = false
    render()
  }

  function open(show: boolean): void {
    panel.hidden = !show
    button.setAttribute('aria-pressed', String(show))
    if (timer) clearInterval(timer)
    timer = undefined
    if (show) {
      void refresh()
      timer = setInterval(() => void refresh(), REFRESH_MS)
    } else {
      closePreview()
    }
  }

  const onButton = () => open(panel.hidden)
  const onList = (ev: MouseEvent) => {
    const item = (ev.target as Element).closest<HTMLElement>('[data-version-id]')
    const v = versions.find((x) => String(x.id) === item?.dataset.versionId)
    if (v) void show(v)
  }
  const restoreSelected = async () => {
    if (!selected) return
    const v = selected
    try {
      await api.restore(v.id)
      closePreview()
      say(`Restored the version of ${new Date(v.time).toLocaleString()}`)
      await refresh()
    } catch (err) {
      say(`Could not restore: ${(err as Error).message}`)
    }
  }
  const askName = (current: string | null) => doc.defaultView?.prompt('Name this version', current ?? '')?.trim()
  const nameSelected = async () => {
    if (!selected) return
    const name = askName(selected.name)
    if (!name) return
    try {
      selected = await api.name(selected.id, name)
      previewTitle.textContent = `${name}, ${new Date(selected.time).toLocaleString()}`
      await refresh()
    } catch (err) {
      say(`Could not name it: ${(err as Error).message}`)
    }
  }
  const nameCurrent = async () => {
    const name = askName(null)
    if (!name) return
    try {
      await api.nameCurrent(name)
      await refresh()
    } catch (err) {
      say(`Could not name it: ${(err as Error).message}`)
    }
  }
  const onBack = () => closePreview()
  const onRestore = () => void restoreSelected()
  const onName = () => void nameSelected()
  const onNameCurrent = () => void nameCurrent()

  button.addEventListener('click', onButton)
  list.addEventListener('click', onList)
  restoreButton.addEventListener('click', onRestore)
  nameButton.addEventListener('click', onName)
  nameNow.addEventListener('click', onNameCurrent)
  backButton.addEventListener('click', onBack)

  return {
    destroy() {
      destroyed = true
      if (timer) clearInterval(timer)
      button.removeEventListener('click', onButton)
      list.removeEventListener('click', onList)
      restoreButton.removeEventListener('click', onRestore)
      nameButton.removeEventListener('click', onName)
      nameNow.removeEventListener('click', onNameCurrent)
      backButton.removeEventListener('click', onBack)
      viewer?.destroy()
      o.surface.hidden = false
      group.remove()
      panel.remove()
      preview.remove()
    },
  }
}
