import type { Editor } from '@tiptap/core'
import { createImagePopover } from './image-popover.js'
import { createImageNotice } from './image-notice.js'
import { insertImageFiles, type ImageHooks } from './uploads-plugin.js'
import css from './images.css?inline'

const STYLE_MARK = 'data-tandem-images-style'
/** What the file picker offers: the types the server accepts (it sniffs the bytes regardless). */
const ACCEPT = 'image/png,image/jpeg,image/gif,image/webp,image/avif'

/**
 * The editor's image UI around `editor`: the alt text and width box, the refusal notice (wired
 * into `hooks`, which the image extension was built with), and the file picker behind the
 * toolbar's Image button.
 */
export function mountImages(editor: Editor, root: HTMLElement, hooks: ImageHooks): { pick(): void; destroy(): void } {
  const doc = root.ownerDocument
  if (!doc.head.querySelector(`style[${STYLE_MARK}]`)) {
    const style = doc.createElement('style')
    style.setAttribute(STYLE_MARK, '')
    style.textContent = css
    doc.head.prepend(style)
  }
  const popover = createImagePopover(editor, root)
  const notice = createImageNotice(root)
  hooks.refused = (message) => notice.show(message)

  const picker = doc.createElement('input')
  picker.type = 'file'
  picker.accept = ACCEPT
  picker.multiple = true
  picker.hidden = true
  picker.tabIndex = -1
  picker.setAttribute('aria-hidden', 'true')
  picker.dataset.testid = 'image-picker'
  root.append(picker)
  const onPicked = () => {
    const files = [...(picker.files ?? [])]
    picker.value = ''
    if (files.length && !editor.isDestroyed) insertImageFiles(editor.view, files, editor.state.selection.to, hooks)
  }
  picker.addEventListener('change', onPicked)

  return {
    pick() {
      if (editor.isEditable) picker.click()
    },
    destroy() {
      hooks.refused = () => {}
      picker.removeEventListener('change', onPicked)
      picker.remove()
      notice.destroy()
      popover.destroy()
    },
  }
}
