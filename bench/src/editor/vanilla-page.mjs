// The vanilla page (vanilla/): built with Vite into results/tmp/editor-vanilla and served by a
// tiny static HTTP server on an ephemeral port (the Tandem server serves only its own page).
import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'vite'
import { REPO_DIR, TMP_DIR } from '../paths.mjs'

const SOURCE = fileURLToPath(new URL('./vanilla', import.meta.url))
const OUT = join(TMP_DIR, 'editor-vanilla')
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' }

/** The repository's patch of the Yjs↔ProseMirror binding (docs/y-tiptap-patch.md). */
const Y_TIPTAP_PATCH = join(REPO_DIR, 'patches', '@tiptap__y-tiptap@3.0.9.patch')

/**
 * The vanilla page is stock Tiptap, so it gets y-tiptap as published: this Vite plugin serves
 * the installed (patched) dist/y-tiptap.js with the patch reversed (`git apply -R` on a copy).
 * @returns {import('vite').Plugin}
 */
function stockYTiptap () {
  return {
    name: 'bench-stock-y-tiptap',
    enforce: 'pre',
    load (id) {
      const file = id.split('?')[0]
      if (!/[\\/]@tiptap[\\/]y-tiptap[\\/]dist[\\/]y-tiptap\.js$/.test(file)) return null
      const dir = mkdtempSync(join(tmpdir(), 'bench-y-tiptap-'))
      try {
        mkdirSync(join(dir, 'dist'))
        copyFileSync(file, join(dir, 'dist', 'y-tiptap.js'))
        execFileSync('git', ['apply', '-R', '--include=dist/y-tiptap.js', Y_TIPTAP_PATCH], { cwd: dir, stdio: 'pipe' })
        return readFileSync(join(dir, 'dist', 'y-tiptap.js'), 'utf8')
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}

/**
 * Production build, like the Tandem page's (minified, es2022; `minify: false` for readable
 * profiles). `binding: 'patched'` builds it with this repository's y-tiptap patch instead of the
 * stock one (the patch's effect alone, on an otherwise vanilla page).
 */
export async function buildVanilla (minify = true, binding = 'stock', out = OUT) {
  await build({
    root: SOURCE,
    base: './',
    logLevel: 'warn',
    plugins: binding === 'stock' ? [stockYTiptap()] : [],
    build: { outDir: out, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000, minify },
  })
  return out
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
