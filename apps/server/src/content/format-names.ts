/**
 * The formats the content API speaks, by name (formats.ts converts them): kept apart so the
 * server's own thread never loads the conversion libraries (content/converter.ts runs those in a
 * worker thread).
 */
export const FORMATS = ['json', 'markdown', 'html', 'text'] as const
export type Format = (typeof FORMATS)[number]
/** What a write may send. */
export type InputFormat = Exclude<Format, 'text'>

export const CONTENT_TYPE: Record<Format, string> = {
  json: 'application/json; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
  text: 'text/plain; charset=utf-8',
}
