/**
 * Response headers that keep the editor pages from being framed, sniffed or leaking their URL.
 *
 * The built pages (apps/editor/dist: index.html, embed.html) load only same-origin files: one
 * module script and its chunks under assets/, a stylesheet, a data: favicon, the service worker
 * sw.js. What else they do, and what the policy allows for it:
 *
 * - scripts: none inline, no eval → `script-src 'self'` (the service worker: `worker-src 'self'`).
 * - styles: the component injects its stylesheet as a <style> element (so `mountEditor` works on
 *   any page without a CSS import; Tiptap does the same), and remote carets carry their colour in
 *   a style attribute → `style-src 'self' 'unsafe-inline'`. Styles cannot run script, and the
 *   usual CSS exfiltration (url() to another host) is blocked by img-src/font-src/default-src.
 * - connections: the page's own host by default, but `?server=` (documented) points it at any
 *   sync server, ws:// or wss:// → `connect-src 'self' ws: wss:`. Only WebSocket schemes: no
 *   fetch/XHR/beacon to other hosts. (Mixed content still stops ws: from an https page.)
 * - IndexedDB, BroadcastChannel, the clipboard need no directive.
 * - `frame-ancestors` from FRAME_ANCESTORS (default 'self': no other site can frame the editor,
 *   so no clickjacking), with X-Frame-Options where it can say the same (SAMEORIGIN / DENY) for
 *   browsers without CSP level 2.
 * - Referrer-Policy: no-referrer. The page URL carries `?token=` (a bearer credential) and the
 *   user's `?name=`; nothing on the page needs a Referer (a WebSocket handshake sends Origin
 *   whatever the policy, so ALLOWED_ORIGINS keeps working).
 */
export function pageSecurityHeaders(frameAncestors: string): Readonly<Record<string, string>> {
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self' ws: wss:",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ')
  const headers: Record<string, string> = {
    'Content-Security-Policy': csp,
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
  }
  const xfo = frameAncestors === "'self'" ? 'SAMEORIGIN' : frameAncestors === "'none'" ? 'DENY' : undefined
  if (xfo) headers['X-Frame-Options'] = xfo
  return Object.freeze(headers)
}

/** For everything that is not a page (JSON, metrics, Yjs state, errors): nothing may run or frame it. */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
})

// One CSP source (CSP3 §2.3.1), as FRAME_ANCESTORS may list them: a scheme (`https:`), a host
// with optional scheme, `*.` wildcard, port and path (`https://*.example.com:8443`), or a keyword.
const SCHEME_SOURCE = /^[a-z][a-z0-9+.-]*:$/i
const HOST_SOURCE = /^(?:[a-z][a-z0-9+.-]*:\/\/)?(?:\*|(?:\*\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)(?::(?:\d{1,5}|\*))?(?:\/[\x21\x23-\x26\x28-\x2b\x2d-\x3a\x3c-\x7e]*)?$/i

/**
 * Validates FRAME_ANCESTORS: space- (or comma-) separated sources, `'self'`, `'none'` (alone) or
 * `*`. Returns the normalised list, or a message saying what is wrong. Quotes, `;` and `,` never
 * reach the header, so a value cannot add directives or a second policy.
 */
export function parseFrameAncestors(raw: string): { ok: true; value: string } | { ok: false; message: string } {
  const sources = raw.split(/[\s,]+/).filter(Boolean)
  if (sources.length === 0) return { ok: false, message: "expected sources such as 'self', 'none', https://app.example.com or *" }
  for (const s of sources) {
    const lower = s.toLowerCase()
    if (lower === "'self'" || lower === "'none'" || s === '*') continue
    if (lower === 'self' || lower === 'none') return { ok: false, message: `keywords are quoted: '${lower}', got ${JSON.stringify(s)}` }
    if (!SCHEME_SOURCE.test(s) && !HOST_SOURCE.test(s)) {
      return { ok: false, message: `${JSON.stringify(s)} is not a CSP source (like https://app.example.com, https:, *.example.com, 'self')` }
    }
  }
  const normalised = sources.map((s) => (s.toLowerCase() === "'self'" || s.toLowerCase() === "'none'" ? s.toLowerCase() : s))
  if (normalised.includes("'none'") && normalised.length > 1) return { ok: false, message: "'none' cannot be combined with other sources" }
  return { ok: true, value: normalised.join(' ') }
}
