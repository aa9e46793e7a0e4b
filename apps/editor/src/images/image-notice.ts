/**
 * The editor's message when an image was refused ("This file is not an image…"): an alert (read
 * out by screen readers), shown for a while or until dismissed, or replaced by the next one.
 */

const SHOWN_MS = 10_000

export function createImageNotice(root: HTMLElement): { show(message: string): void; destroy(): void } {
  const doc = root.ownerDocument
  const box = doc.createElement('div')
  box.className = 'tandem-image-notice'
  box.setAttribute('role', 'alert')
  box.dataset.testid = 'image-notice'
  box.hidden = true
  const text = doc.createElement('span')
  const dismiss = doc.createElement('button')
  dismiss.type = 'button'
  dismiss.className = 'tandem-link-button'
  dismiss.textContent = 'Dismiss'
  box.append(text, dismiss)
  root.append(box)
  let timer: ReturnType<typeof setTimeout> | undefined
  const hide = () => {
    clearTimeout(timer)
    timer = undefined
    box.hidden = true
  }
  dismiss.addEventListener('click', hide)
  return {
    show(message) {
      clearTimeout(timer)
      text.textContent = message
      box.hidden = false
      timer = setTimeout(hide, SHOWN_MS)
    },
    destroy() {
      clearTimeout(timer)
      dismiss.removeEventListener('click', hide)
      box.remove()
    },
  }
}
