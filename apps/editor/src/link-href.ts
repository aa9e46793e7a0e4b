import { isSafeHref } from '@tandem/schema'

const SCHEME = /^[a-z][a-z0-9+.-]*:/i
const EMAIL = /^[^\s@/:]+@[^\s@/:]+\.[^\s@/:]+$/
const HOST = /^(?:localhost|[^\s/?#:@]+\.[^\s/?#:@]{2,})(?::\d+)?(?:[/?#]\S*)?$/i

/**
 * What a person typed into the link field, as the link's target: `example.com/x` becomes
 * `https://example.com/x`, `ada@example.com` becomes `mailto:ada@example.com`; a relative
 * target (`/docs`, `#part`) stays as it is. Undefined when the target is not one a document may
 * hold (the schema's isSafeHref, the server's rule too: `javascript:`, `data:` …) or is empty.
 */
export function normalizeHref(input: string): string | undefined {
  const value = input.trim()
  if (!value) return undefined
  let href = value
  if (!SCHEME.test(value) || /^localhost:\d/i.test(value)) {
    if (EMAIL.test(value)) href = `mailto:${value}`
    else if (HOST.test(value) && !value.startsWith('.')) href = `https://${value}`
  }
  return isSafeHref(href) ? href : undefined
}
