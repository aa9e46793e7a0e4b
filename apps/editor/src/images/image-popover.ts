import type { Editor } from '@tiptap/core'
import { NodeSelection, type Transaction } from '@tiptap/pm/state'
import { IMAGE_WIDTHS, MAX_ALT_CHARS } from '@tandem/schema'

/**
 * The small box under a selected image (click it, or arrow onto it): its alt text, a field
 * (Enter or Apply saves it into the document, for everyone; Escape goes back to the text), and
 * its width as a share of the column (25 / 50 / 75 / 100 %, or Auto: its own size, at most the
 * column), stored in the node so everyone sees the same. Built like the link box
 * (link-popover.ts): looked at once per frame, only when the selection or the document changed.
 */
export function createImagePopover(editor: Editor, root: HTMLElement): { destroy(): void } {
  const doc = root.ownerDocument
  const box = doc.createElement('div')
  box.className = 'tandem-link-popover tandem-image-popover'
  box.hidden = true
  box.dataset.testid = 'image-popover'

  const form = doc.createElement('form')
  form.className = 'tandem-link-form'
  form.noValidate = true
  const input = doc.createElement('input')
  input.type = 'text'
  input.maxLength = MAX_ALT_CHARS
  input.autocomplete = 'off'
  input.placeholder = 'Describe the image'
  input.setAttribute('aria-label', 'Alt text (image description)')
  const apply = doc.createElement('button')
  apply.type = 'submit'
  apply.className = 'tandem-link-button'
  apply.textContent = 'Apply'
  apply.setAttribute('aria-label', 'Apply alt text')
  form.append(input, apply)

  const widths = doc.createElement('div')
  widths.className = 'tandem-image-widths'
  widths.setAttribute('role', 'group')
  widths.setAttribute('aria-label', 'Image width')
  const widthButtons = ([...IMAGE_WIDTHS, null] as Array<number | null>).map((w) => {
    const b = doc.createElement('button')
    b.type = 'button'
    b.className = 'tandem-link-button'
    b.textContent = w === null ? 'Auto' : `${w}%`
    b.setAttribute('aria-label', w === null ? 'Width: Auto (its own size, at most the column)' : `Width: ${w}% of the column`)
    b.setAttribute('aria-pressed', 'false')
    b.dataset.width = w === null ? 'auto' : String(w)
    b.addEventListener('click', () => setWidth(w))
    widths.append(b)
    return [w, b] as const
  })
  box.append(form, widths)
  root.append(box)

  let frame = 0
  /** the position of the image the box is for */
  let at: number | undefined

  const selectedImage = () => {
    const sel = editor.state.selection
    return sel instanceof NodeSelection && sel.node.type.name === 'image' ? sel : undefined
  }
  const hide = () => {
    at = undefined
    box.hidden = true
  }
  const refresh = () => {
    frame = 0
    if (editor.isDestroyed) return
    const sel = selectedImage()
    const focusInBox = box.contains(doc.activeElement)
    if (!sel || !editor.isEditable || !(editor.isFocused || focusInBox)) return hide()
    const attrs = sel.node.attrs as { alt?: string; width?: number | null }
    // Not while someone types in the field: a remote change of the alt text would overwrite it.
    if (at !== sel.from || !focusInBox) input.value = attrs.alt ?? ''
    at = sel.from
    for (const [w, b] of widthButtons) b.setAttribute('aria-pressed', String((attrs.width ?? null) === w))
    box.hidden = false
    const dom = editor.view.nodeDOM(sel.from)
    const outer = root.getBoundingClientRect()
    const rect = dom instanceof Element ? dom.getBoundingClientRect() : editor.view.coordsAtPos(sel.from)
    const width = box.offsetWidth || 300
    box.style.left = `${Math.max(8, Math.min(rect.left - outer.left, outer.width - width - 8))}px`
    box.style.top = `${rect.bottom - outer.top + 6}px`
  }
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(refresh)
  }

  const update = (attrs: Record<string, unknown>, focusEditor: boolean) => {
    if (at === undefined) return
    const chain = editor.chain()
    if (focusEditor) chain.focus()
    // Replacing a leaf node's attributes maps a selection of it to a caret: select it again, so the box stays.
    chain.setNodeSelection(at).updateAttributes('image', attrs).setNodeSelection(at).run()
  }
  // A click keeps the editor's focus (onMouseDown); a key press on a button keeps focus on it.
  const setWidth = (w: number | null) => update({ width: w }, !box.contains(doc.activeElement))
  const onSubmit = (ev: SubmitEvent) => {
    ev.preventDefault()
    update({ alt: input.value.trim().slice(0, MAX_ALT_CHARS) }, true)
  }
  const onKeyDown = (ev: KeyboardEvent) => {
    if (ev.key !== 'Escape') return
    ev.preventDefault()
    editor.commands.focus()
  }
  // Width buttons keep the editor's focus (and the image selected in everyone's view).
  const onMouseDown = (ev: MouseEvent) => {
    if ((ev.target as Element).closest('button')) ev.preventDefault()
  }
  const onFocusOut = (ev: FocusEvent) => {
    const to = ev.relatedTarget
    if (to instanceof Node && (box.contains(to) || editor.view.dom.contains(to))) return
    hide()
  }
  const onTransaction = ({ transaction }: { transaction: Transaction }) => {
    if (transaction.selectionSet || transaction.docChanged) schedule()
  }
  const onBlur = ({ event }: { event: FocusEvent }) => {
    if (event.relatedTarget instanceof Node && box.contains(event.relatedTarget)) return
    schedule()
  }

  form.addEventListener('submit', onSubmit)
  box.addEventListener('keydown', onKeyDown)
  box.addEventListener('mousedown', onMouseDown)
  box.addEventListener('focusout', onFocusOut)
  editor.on('transaction', onTransaction)
  editor.on('focus', schedule)
  editor.on('blur', onBlur)

  return {
    destroy() {
      if (frame) cancelAnimationFrame(frame)
      editor.off('transaction', onTransaction)
      editor.off('focus', schedule)
      editor.off('blur', onBlur)
      form.removeEventListener('submit', onSubmit)
      box.removeEventListener('keydown', onKeyDown)
      box.removeEventListener('mousedown', onMouseDown)
      box.removeEventListener('focusout', onFocusOut)
      box.remove()
    },
  }
}
