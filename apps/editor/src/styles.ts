import css from './styles/editor.css?inline'

const MARK = 'data-tandem-style'

/**
 * The component brings its own stylesheet so that `mountEditor` and `<collab-editor>` look
 * right on any page without a separate CSS import. Injected once per document; every rule is
 * scoped under `.tandem`, so the host page's styles are left alone.
 */
export function injectStyles(doc: Document): void {
  if (doc.head.querySelector(`style[${MARK}]`)) return
  const style = doc.createElement('style')
  style.setAttribute(MARK, '')
  style.textContent = css
  // First in <head> so the host page can override our rules without !important.
  doc.head.prepend(style)
}
