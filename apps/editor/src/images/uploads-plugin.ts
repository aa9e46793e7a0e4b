import { Plugin, PluginKey, type EditorState, type Transaction } from '@tiptap/pm/state'
import { Decoration, DecorationSet, type EditorView } from '@tiptap/pm/view'
import { UploadRefused, type UploadClient } from './upload-client.js'

/**
 * Pasted, dropped and picked files become images of the document: each file is uploaded, a
 * placeholder ("Uploading image…", only in this editor) marks where it goes meanwhile, following
 * the edits around it, and the image node replaces it once the server has the file. A refusal
 * (not an image, too large, quota) removes the placeholder and is told through `refused`.
 */

export interface ImageHooks {
  client: UploadClient
  /** a sentence for the person who tried (shown by mountEditor's notice) */
  refused(message: string): void
}

type Meta = { add: { id: number; pos: number } } | { remove: number }

const key = new PluginKey<DecorationSet>('tandemImageUploads')
let nextId = 1

function placeholder(doc: Document): HTMLElement {
  const el = doc.createElement('span')
  el.className = 'tandem-image-uploading'
  el.contentEditable = 'false'
  el.setAttribute('role', 'status')
  el.textContent = 'Uploading image…'
  return el
}

/** Where the placeholder `id` is now, or undefined once gone (its spot deleted by an edit). */
function placeholderPos(state: EditorState, id: number): number | undefined {
  const found = key.getState(state)?.find(undefined, undefined, (spec: { id?: number }) => spec.id === id)
  return found?.[0]?.from
}

/** Uploads `files` and inserts each as an image at `pos` (mapped through whatever happens meanwhile). */
export function insertImageFiles(view: EditorView, files: readonly File[], pos: number, hooks: ImageHooks): void {
  for (const file of files) {
    const id = nextId++
    view.dispatch(view.state.tr.setMeta(key, { add: { id, pos } } satisfies Meta))
    hooks.client.upload(file).then(
      (src) => {
        if (view.isDestroyed) return
        const at = placeholderPos(view.state, id)
        const tr: Transaction = view.state.tr.setMeta(key, { remove: id } satisfies Meta)
        const image = view.state.schema.nodes.image
        if (at !== undefined && image) tr.insert(at, image.create({ src, alt: '' }))
        view.dispatch(tr)
      },
      (err: unknown) => {
        if (view.isDestroyed) return
        view.dispatch(view.state.tr.setMeta(key, { remove: id } satisfies Meta))
        hooks.refused(err instanceof UploadRefused ? err.message : 'The image could not be uploaded.')
      },
    )
  }
}

/** Files on the clipboard or in a drop that are meant as files (an image copied, files dragged in). */
function filesOf(data: DataTransfer | null): File[] {
  if (!data) return []
  const files = [...data.files]
  if (files.length === 0) return []
  // Copying from a word processor puts text and a picture of it on the clipboard: paste the text.
  const hasText = (data.getData('text/plain') || data.getData('text/html')).trim() !== ''
  return hasText && !files.some((f) => f.type.startsWith('image/')) ? [] : files
}

export function imageUploadsPlugin(hooks: ImageHooks): Plugin<DecorationSet> {
  return new Plugin<DecorationSet>({
    key,
    state: {
      init: () => DecorationSet.empty,
      apply(tr, set) {
        let next = set.map(tr.mapping, tr.doc)
        const meta = tr.getMeta(key) as Meta | undefined
        if (meta && 'add' in meta) {
          const widget = Decoration.widget(meta.add.pos, (view) => placeholder(view.dom.ownerDocument), { id: meta.add.id, side: -1 })
          next = next.add(tr.doc, [widget])
        } else if (meta) {
          next = next.remove(next.find(undefined, undefined, (spec: { id?: number }) => spec.id === meta.remove))
        }
        return next
      },
    },
    props: {
      decorations: (state) => key.getState(state),
      handlePaste(view, event) {
        const files = filesOf(event.clipboardData)
        if (files.length === 0 || !view.editable) return false
        event.preventDefault()
        insertImageFiles(view, files, view.state.selection.to, hooks)
        return true
      },
      handleDrop(view, event, _slice, moved) {
        if (moved || !view.editable) return false
        const files = filesOf(event.dataTransfer)
        if (files.length === 0) return false
        event.preventDefault()
        const at = view.posAtCoords({ left: event.clientX, top: event.clientY })
        insertImageFiles(view, files, at?.pos ?? view.state.selection.to, hooks)
        return true
      },
    },
  })
}
