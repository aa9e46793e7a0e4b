import type { AnyExtension } from '@tiptap/core'
import { imageView } from './image-view.js'
import { imageUploadsPlugin, type ImageHooks } from './uploads-plugin.js'

/** The schema's image node (@tandem/schema) with what only a live editor needs: its view, and uploads on paste and drop. */
export function editableImage(image: AnyExtension, hooks: ImageHooks): AnyExtension {
  return image.extend({
    addNodeView: () => imageView(hooks.client),
    // The schema's image adds no plugin of its own.
    addProseMirrorPlugins: () => [imageUploadsPlugin(hooks)],
  })
}
