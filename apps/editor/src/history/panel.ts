import { Editor, type JSONContent } from '@tiptap/core'
import { documentExtensions } from '@tandem/schema'
import { colorForName } from '../identity.js'
import css from './history.css?inline'
import { createVersionsClient, roomApiUrl, type TokenSource, type Version, type VersionAuthor } from './api.js'
import { diffDocs, type DiffResult } from './diff.js'
import { diffPlugin, diffStyle, NEUTRAL } from './decorations.js'

/**
 * The History panel: a toolbar button (`data-testid="history-button"`) opens a list of the room's
 * versions (time, name, author avatars; refreshed while open, so a version taken meanwhile
 * appears). Selecting one shows it read-only in place of the live document, with what it changed
 * since the version before it drawn inside the text (diff.ts, decorations.ts), in its author's
 * colour when it has exactly one; from there it can be restored or named.
 *
 * Refreshing (docs/history.md): a conditional GET (ETag, 304 when nothing changed) every
 * REFRESH_MS as a backstop for versions named elsewhere, and soon after the document changes:
 * once its edits pause (a restore's "before" version is there by then) and again when the
 * server's automatic version of that burst is due (`autoAfterMs`).
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

/** While open, the list is fetched again this often (a version named elsewhere appears without reopening). */
const REFRESH_MS = 10_000
/** The document's edits have paused this long: fetch the list (the end of a burst). */
const SETTLE_MS = 1000
/** Versions listed (and compared): the newest ones. */
const LIST_LIMIT = 100
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
  const legend = doc.createElement('div')
  legend.className = 'tandem-history-legend'
  legend.dataset.testid = 'version-legend'
  const previewSurface = doc.createElement('div')
  previewSurface.className = 'tandem-history-preview-surface'
  preview.append(previewBar, legend, previewSurface)
  o.surface.after(preview)

  let versions: Version[] = []
  let next: string | null = null
  let autoAfterMs: number | null = null
  let etag: string | undefined
  let selected: Version | undefined
  let viewer: Editor | undefined
  let timer: ReturnType<typeof setInterval> | undefined
  const soon = new Set<ReturnType<typeof setTimeout>>()
  /** the latest show() call: an earlier one that finishes later is dropped */
  let showing = 0
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
  const authorName = (a: VersionAuthor) => a.name ?? a.id ?? '?'

  async function refresh(): Promise<void> {
    try {
      const got = await api.list({ limit: LIST_LIMIT, etag })
      if (destroyed) return
      if (got) {
        versions = got.page.versions
        next = got.page.next
        autoAfterMs = got.page.autoAfterMs
        etag = got.etag ?? undefined
        render()
      }
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
        for (const a of v.authors) people.append(avatar(authorName(a)))
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
    const mine = ++showing
    let content: JSONContent
    let before: { version: Version; content: JSONContent } | undefined
    try {
      // What it changed is shown against the version before it (docs/history.md says why).
      const older = await olderThan(v)
      const [c, o] = await Promise.all([api.content(v.id), older ? api.content(older.id) : undefined])
      content = c
      if (older && o) before = { version: older, content: o }
    } catch (err) {
      return void say(`Could not open the version: ${(err as Error).message}`)
    }
    if (destroyed || mine !== showing) return
    selected = v
    viewer?.destroy()
    viewer = new Editor({ element: previewSurface, editable: false, extensions: documentExtensions(), content })
    viewer.view.dom.setAttribute('aria-label', 'Version (read only)')
    const one = v.authorsExact && v.authors.length === 1 ? v.authors[0] : undefined
    const color = one ? colorForName(authorName(one)) : NEUTRAL
    let diff: DiffResult | undefined
    if (before) {
      diff = diffDocs(viewer.schema.nodeFromJSON(before.content), viewer.state.doc)
      viewer.registerPlugin(diffPlugin(viewer.state.doc, diff, color))
    }
    showLegend(v, before?.version, diff, one ? color : undefined)
    previewTitle.textContent = `${v.name ?? KIND_LABEL[v.kind]}, ${new Date(v.time).toLocaleString()}`
    preview.hidden = false
    o.surface.hidden = true
    render()
  }

  /** The version taken before `v`: the next in the list, or the first of the next page. */
  async function olderThan(v: Version): Promise<Version | undefined> {
    const i = versions.findIndex((x) => x.id === v.id)
    if (i >= 0 && i + 1 < versions.length) return versions[i + 1]
    if (i !== versions.length - 1 || !next) return undefined
    return (await api.list({ limit: 1, cursor: next }))?.page.versions[0]
  }

  /** What the marks mean: inserted / deleted samples, since when, and by whom (with their colours). */
  function showLegend(v: Version, older: Version | undefined, diff: DiffResult | undefined, color: string | undefined): void {
    legend.replaceChildren()
    if (!older || !diff) {
      legend.textContent = 'The oldest version kept: there is no earlier one to compare it with.'
      return
    }
    const empty = diff.inserted.length + diff.deleted.length + diff.insertedBlocks.length + diff.deletedBlocks.length + diff.changedBlocks.length === 0
    if (empty) {
      legend.textContent = `No changes to the text since the version of ${new Date(older.time).toLocaleString()}.`
      return
    }
    const style = diffStyle(color ?? NEUTRAL)
    const ins = doc.createElement('ins')
    ins.className = 'tandem-diff-ins'
    ins.setAttribute('style', style)
    ins.textContent = 'inserted'
    const del = doc.createElement('del')
    del.className = 'tandem-diff-del'
    del.setAttribute('style', style)
    del.textContent = 'deleted'
    legend.append(`Changes since the version of ${new Date(older.time).toLocaleString()}: `, ins, ' ', del)
    const people = doc.createElement('span')
    people.className = 'tandem-history-legend-authors'
    people.dataset.testid = 'version-legend-authors'
    for (const a of v.authors) {
      const chip = doc.createElement('span')
      chip.className = 'tandem-history-legend-author'
      const swatch = doc.createElement('span')
      swatch.className = 'tandem-history-swatch'
      swatch.style.backgroundColor = colorForName(authorName(a))
      chip.append(swatch, authorName(a))
      people.append(chip)
    }
    if (color) legend.append(' by ', people)
    else if (v.authors.length > 0) {
      legend.append(' by ', people, v.authorsExact ? ' (shown in grey: the history does not say who wrote which word)' : ' and maybe others (shown in grey: versions in between were thinned)')
    } else legend.append(' (authors unknown: shown in grey)')
    if (diff.coarse) legend.append(' Some changes are highlighted as whole blocks: too many to compare word by word.')
  }

  function closePreview(): void {
    showing++
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
    clearSoon()
    if (show) {
      void refresh()
      timer = setInterval(() => void refresh(), REFRESH_MS)
    } else {
      closePreview()
    }
  }

  function clearSoon(): void {
    for (const t of soon) clearTimeout(t)
    soon.clear()
  }
  function later(ms: number): void {
    const t = setTimeout(() => {
      soon.delete(t)
      void refresh()
    }, ms)
    soon.add(t)
  }
  // The document changed (here or elsewhere): once its edits pause, and once the server's
  // automatic version of the burst is due, the list is fetched (each a 304 if nothing is new).
  const onUpdate = () => {
    if (panel.hidden) return
    clearSoon()
    later(SETTLE_MS)
    if (autoAfterMs !== null) later(autoAfterMs + SETTLE_MS)
  }
  o.editor.on('update', onUpdate)

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
      clearSoon()
      o.editor.off('update', onUpdate)
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
