import { isValidAlignment } from './alignment.js'
import { MAX_ALT_CHARS, isSafeImageSrc, isValidImageWidth } from './images.js'

/** What `checkNode` needs of a ProseMirror node: its type's name and its attributes. */
interface NodeLike {
  type: { name: string }
  attrs: Record<string, unknown>
}

/**
 * Why the node's attributes are not ones the document may hold (undefined when they are): an
 * image of anything but an upload of this server, a width or alt text out of bounds, an
 * alignment other than left/center/right. The server's content API refuses such JSON (400).
 */
export function checkNode(node: NodeLike): string | undefined {
  if (node.type.name === 'image') {
    const { src, alt, width } = node.attrs
    if (!isSafeImageSrc(src)) return `an image from ${JSON.stringify(String(src).slice(0, 80))} is not allowed (only uploads of this server: /api/rooms/<room>/uploads/<id>)`
    if (typeof alt !== 'string' || [...alt].length > MAX_ALT_CHARS) return `an image's alt text must be a string of at most ${MAX_ALT_CHARS} characters`
    if (!isValidImageWidth(width)) return "an image's width must be null or an integer percentage from 10 to 100"
  }
  if ('textAlign' in node.attrs && !isValidAlignment(node.attrs.textAlign)) return 'textAlign must be null, "left", "center" or "right"'
  return undefined
}
