import type { NodeViewRendererProps } from '@tiptap/core'
import type { Node as PMNode } from '@tiptap/pm/model'
import type { NodeView } from '@tiptap/pm/view'
import { isSafeImageSrc, isValidImageWidth } from '@tandem/schema'
import type { UploadClient } from './upload-client.js'

/**
 * How an image of the document shows in the editor: an <img> loading the upload from the server
 * with the reader's token (upload-client.ts srcFor), its alt text, its width as a share of the
 * column (max-width 100 % in the stylesheet, so it fits a phone). A src that is not an upload
 * (a Yjs client could write anything) is never loaded.
 */
export function imageView(client: UploadClient) {
  return ({ node }: NodeViewRendererProps): NodeView => {
    const img = document.createElement('img')
    img.className = 'tandem-image'
    img.draggable = true
    let shown: PMNode | undefined
    let wanted: unknown
    const show = (next: PMNode) => {
      const { src, alt, width } = next.attrs as { src: unknown; alt: unknown; width: unknown }
      img.alt = typeof alt === 'string' ? alt : ''
      const w = isValidImageWidth(width) && width !== null ? `${width}%` : ''
      if (img.style.width !== w) img.style.width = w
      if (w) img.dataset.width = String(width)
      else delete img.dataset.width
      if (src !== wanted) {
        wanted = src
        if (!isSafeImageSrc(src)) img.removeAttribute('src')
        else
          void client.srcFor(src).then((url) => {
            if (wanted === src && url) img.src = url
          })
      }
      shown = next
    }
    show(node)
    return {
      dom: img,
      update(next) {
        if (next.type !== shown?.type) return false
        show(next)
        return true
      },
    }
  }
}
