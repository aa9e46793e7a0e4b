import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { extname, join, normalize, sep } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
}

/**
 * Serves the built editor. Hashed files under /assets/ are immutable (cached for a year);
 * HTML is never cached so a new deploy is picked up at once. Unknown paths without an
 * extension fall back to index.html (the page reads ?room= itself).
 */
export function createStaticHandler(root: string, securityHeaders: Readonly<Record<string, string>>) {
  const base = normalize(root + sep)

  async function resolveFile(urlPath: string): Promise<string | undefined> {
    let decoded: string
    try {
      decoded = decodeURIComponent(urlPath)
    } catch {
      return undefined
    }
    if (decoded.includes('\0')) return undefined
    const file = normalize(join(base, decoded))
    if (!file.startsWith(base)) return undefined // path traversal
    try {
      const s = await stat(file)
      if (s.isFile()) return file
      if (s.isDirectory()) {
        const index = join(file, 'index.html')
        if ((await stat(index).catch(() => undefined))?.isFile()) return index
      }
    } catch {
      // not found
    }
    return undefined
  }

  return async function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false
    let file = await resolveFile(pathname)
    if (!file && extname(pathname) === '') file = await resolveFile('/index.html')
    if (!file) return false
    const s = await stat(file)
    const ext = extname(file)
    res.statusCode = 200
    res.setHeader('Content-Type', MIME[ext] ?? 'application/octet-stream')
    res.setHeader('Content-Length', s.size)
    // CSP, framing, Referrer-Policy, nosniff (security-headers.ts): on the pages, where they
    // matter, and on every other file too (sw.js runs under the CSP it is served with).
    for (const [name, value] of Object.entries(securityHeaders)) res.setHeader(name, value)
    res.setHeader(
      'Cache-Control',
      pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : ext === '.html' ? 'no-cache' : 'public, max-age=300',
    )
    if (req.method === 'HEAD') {
      res.end()
      return true
    }
    await new Promise<void>((resolve) => {
      const stream = createReadStream(file)
      stream.on('error', () => {
        res.destroy()
        resolve()
      })
      stream.on('end', resolve)
      stream.pipe(res)
    })
    return true
  }
}
