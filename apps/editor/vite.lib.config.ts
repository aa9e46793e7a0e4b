import { defineConfig, defaultClientConditions } from 'vite'

/**
 * The library build (`import { mountEditor } from '@tandem/editor'`), two flavours in dist-lib/:
 *   index.js              dependencies external: for bundlers, so the app shares ONE copy of
 *                         yjs with its own code (two copies break instanceof checks silently)
 *   tandem-editor.js      everything inlined: for a plain <script type="module"> on any page
 * Types come from `tsc -p tsconfig.lib.json` (dist-lib/types).
 * TANDEM_LIB=standalone selects the second flavour.
 */
const standalone = process.env.TANDEM_LIB === 'standalone'
const external = [/^yjs($|\/)/, /^y-protocols($|\/)/, /^lib0($|\/)/, /^y-indexeddb($|\/)/, /^@tiptap\//, /^@tandem\/(sync|schema)($|\/)/]

export default defineConfig({
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: {
    outDir: 'dist-lib',
    emptyOutDir: !standalone,
    target: 'es2022',
    sourcemap: true,
    copyPublicDir: false,
    lib: {
      entry: 'src/index.ts',
      formats: ['es'],
      fileName: () => (standalone ? 'tandem-editor.js' : 'index.js'),
    },
    // The standalone file carries Tiptap, ProseMirror, Yjs and marked: ~850 kB (235 kB gzip).
    chunkSizeWarningLimit: 900,
    rolldownOptions: standalone ? {} : { external },
  },
})
