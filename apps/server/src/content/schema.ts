import { getSchema, getTextSerializersFromSchema, type AnyExtension, type TextSerializer } from '@tiptap/core'
import type { Schema } from '@tiptap/pm/model'
import { MarkdownManager } from '@tiptap/markdown'
import { documentExtensions } from '@tandem/schema'

/**
 * The document's schema as the server sees it: built from the very extension list the editor
 * uses (@tandem/schema), with Tiptap's `getSchema`, which needs no DOM. Built on first use and
 * then shared: a schema and its serializers are immutable, and building them costs milliseconds
 * (and loading Tiptap, tens of them) that a server nobody asks for content never pays.
 */
export interface DocumentSchema {
  extensions: AnyExtension[]
  schema: Schema
  textSerializers: Record<string, TextSerializer>
  markdown: MarkdownManager
}

let built: DocumentSchema | undefined

export function documentSchema(): DocumentSchema {
  if (built) return built
  const extensions = documentExtensions()
  const schema = getSchema(extensions)
  // Tiptap's own Markdown support (`@tiptap/markdown`: marked for parsing, each extension's
  // renderMarkdown for writing), so Markdown covers exactly the nodes and marks the editor has.
  const markdown = new MarkdownManager({ extensions })
  built = { extensions, schema, textSerializers: getTextSerializersFromSchema(schema), markdown }
  return built
}
