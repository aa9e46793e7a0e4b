import type { Editor } from '@tiptap/core'
import type { Transaction } from '@tiptap/pm/state'
import { normalizeHref } from './link-href.js'

export interface LinkPopover {
  /** Opens the link field for the selection (Ctrl/⌘ K, the toolbar's Link button). */
  edit(): boolean
  destroy(): void
}

/**
 * The small box under a link: while the caret is in a link it shows the target (opens in a new
 * tab), Edit and Remove; Edit, Ctrl/⌘ K or the toolbar's Link button turn it into a field.
 * Enter applies, Escape goes back to the text. Only targets the schema allows (normalizeHref).
 *
 * Cost per keystroke: the box is looked at only when a transaction moved the selection or changed
 * the document, once per frame, and asks only `isActive('link')` (the marks at the caret); it
 * measures the caret's position only while shown.
 */
export function createLinkPopover(editor: Editor, root: HTMLElement): LinkPopover {
  const doc = root.ownerDocument
  const box = doc.createElement('div')
  box.className = 'tandem-link-popover'
  box.hidden = true
  box.dataset.testid = 'link-popover'

  // View mode: target + Edit + Remove.
  const view = doc.createElement('div')
  view.className = 'tandem-link-view'
  const anchor = doc.createElement('a')
  anchor.className = 'tandem-link-open'
  anchor.target = '_blank'
  anchor.rel = 'noopener noreferrer nofollow'
  const editButton = button('Edit', 'Edit link')
  const removeButton = button('Remove', 'Remove link')
  view.append(anchor, editButton, removeButton)

  // Edit mode: a field + Apply + Cancel.
  const form = doc.createElement('form')
  form.className = 'tandem-link-form'
  form.noValidate = true
  const input = doc.createElement('input')
  input.type = 'text'
  input.inputMode = 'url'
  input.autocomplete = 'off'
  input.spellcheck = false
  input.placeholder = 'Paste or type a link'
  input.setAttribute('aria-label', 'Link address')
  const apply = button('Apply', 'Apply link')
  apply.type = 'submit'
  const cancel = button('Cancel', 'Cancel')
  const error = doc.createElement('p')
  error.className = 'tandem-link-error'
  error.setAttribute('role', 'alert')
  form.append(input, apply, cancel, error)
  box.append(view, form)
  root.append(box)

  function button(text: string, label: string): HTMLButtonElement {
    const b = doc.createElement('button')
    b.type = 'button'
    b.className = 'tandem-link-button'
    b.textContent = text
    if (label !== text) b.setAttribute('aria-label', label)
    return b
  }

  let mode: 'hidden' | 'view' | 'edit' = 'hidden'
  let frame = 0

  const place = () => {
    const { from } = editor.state.selection
    const at = editor.view.coordsAtPos(from)
    const outer = root.getBoundingClientRect()
    const width = box.offsetWidth || 280
    const left = Math.max(8, Math.min(at.left - outer.left, outer.width - width - 8))
    box.style.left = `${left}px`
    box.style.top = `${at.bottom - outer.top + 6}px`
  }

  const show = (next: 'view' | 'edit') => {
    mode = next
    box.hidden = false
    box.dataset.mode = next
    view.hidden = next !== 'view'
    form.hidden = next !== 'edit'
    place()
  }
  const hide = () => {
    if (mode === 'hidden') return
    mode = 'hidden'
    box.hidden = true
    delete box.dataset.mode
    error.textContent = ''
  }

  // The view box follows the caret: shown while it is in a link and the editor has focus.
  const refresh = () => {
    frame = 0
    if (editor.isDestroyed || mode === 'edit') return
    const inLink = editor.isActive('link') && editor.isFocused
    if (!inLink) return hide()
    const href = String(editor.getAttributes('link').href ?? '')
    if (anchor.getAttribute('href') !== href) {
      anchor.href = href
      anchor.textContent = href
    }
    show('view')
  }
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(refresh)
  }
  const onTransaction = ({ transaction }: { transaction: Transaction }) => {
    if (transaction.selectionSet || transaction.docChanged) schedule()
    else if (mode === 'view' && !editor.isFocused) schedule()
  }
  const onBlur = ({ event }: { event: FocusEvent }) => {
    // Focus moving into the box (Tab to its buttons) keeps it.
    if (event.relatedTarget instanceof Node && box.contains(event.relatedTarget)) return
    if (mode === 'view') hide()
  }

  const edit = (): boolean => {
    if (!editor.isEditable) return false
    const current = editor.isActive('link') ? String(editor.getAttributes('link').href ?? '') : ''
    input.value = current
    error.textContent = ''
    input.removeAttribute('aria-invalid')
    show('edit')
    input.focus()
    input.select()
    return true
  }

  const applyLink = () => {
    const raw = input.value
    if (!raw.trim()) {
      remove()
      return
    }
    const href = normalizeHref(raw)
    if (!href) {
      error.textContent = 'Only web (http, https), mail and phone links, or a relative address.'
      input.setAttribute('aria-invalid', 'true')
      input.focus()
      return
    }
    const chain = editor.chain().focus()
    const { empty } = editor.state.selection
    if (editor.isActive('link')) chain.extendMarkRange('link').setLink({ href })
    else if (empty) chain.insertContent({ type: 'text', text: raw.trim(), marks: [{ type: 'link', attrs: { href } }] })
    else chain.setLink({ href })
    chain.run()
    mode = 'hidden'
    schedule()
  }
  const remove = () => {
    editor.chain().focus().extendMarkRange('link').unsetLink().run()
    hide()
  }
  const back = () => {
    hide()
    editor.commands.focus()
  }

  const onSubmit = (ev: SubmitEvent) => {
    ev.preventDefault()
    applyLink()
  }
  const onKeyDown = (ev: KeyboardEvent) => {
    if (ev.key === 'Escape') {
      ev.preventDefault()
      back()
    }
  }
  const onEdit = () => edit()
  // Buttons keep the editor's focus (and our caret in other people's view) where they can.
  const onMouseDown = (ev: MouseEvent) => {
    if (mode === 'view' && (ev.target as Element).closest('button')) ev.preventDefault()
  }
  const onFocusOut = (ev: FocusEvent) => {
    const to = ev.relatedTarget
    if (to instanceof Node && (box.contains(to) || editor.view.dom.contains(to))) return
    if (mode === 'edit') hide()
    else if (mode === 'view') hide()
  }

  form.addEventListener('submit', onSubmit)
  box.addEventListener('keydown', onKeyDown)
  box.addEventListener('mousedown', onMouseDown)
  box.addEventListener('focusout', onFocusOut)
  editButton.addEventListener('click', onEdit)
  removeButton.addEventListener('click', remove)
  cancel.addEventListener('click', back)
  editor.on('transaction', onTransaction)
  editor.on('blur', onBlur)
  editor.on('focus', schedule)

  return {
    edit,
    destroy() {
      if (frame) cancelAnimationFrame(frame)
      editor.off('transaction', onTransaction)
      editor.off('blur', onBlur)
      editor.off('focus', schedule)
      form.removeEventListener('submit', onSubmit)
      box.removeEventListener('keydown', onKeyDown)
      box.removeEventListener('mousedown', onMouseDown)
      box.removeEventListener('focusout', onFocusOut)
      editButton.removeEventListener('click', onEdit)
      removeButton.removeEventListener('click', remove)
      cancel.removeEventListener('click', back)
      box.remove()
    },
  }
}
