// The vanilla page (vanilla/): built with Vite into results/tmp/editor-vanilla and served by a
// tiny static HTTP server on an ephemeral port (the Tandem server serves only its own page).
import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'vite'
import { TMP_DIR } from '../paths.mjs'

const SOURCE = fileURLToPath(new URL('./vanilla', import.meta.url))
const OUT = join(TMP_DIR, 'editor-vanilla')
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' }

/** Production build, like the Tandem page's (minified, es2022). */
export async function buildVanilla () {
  await build({
    root: SOURCE,
    base: './',
    logLevel: 'warn',
    build: { outDir: OUT, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
  })
  return OUT
}

/** @returns {Promise<{ url: string, close(): Promise<void> }>} */
export function serveVanilla (dir = OUT) {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '')
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path)
    try {
      const body = await readFile(file)
      res.writeHead(200, { 'content-type': TYPES[/** @type {keyof TYPES} */ (extname(file))] ?? 'application/octet-stream' })
      res.end(body)
    } catch {
      res.writeHead(404).end()
    }
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = /** @type {import('node:net').AddressInfo} */ (server.address()).port
      resolve({ url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(() => r(undefined))) })
    })
  })
}
