import { defineConfig, defaultClientConditions } from 'vite'

/**
 * The editor app: index.html (the editor page) and embed.html (the embedding demo), built to
 * dist/ for the server to serve. Hashed files land in dist/assets/, which the server caches
 * as immutable; the HTML files are served with no-cache.
 *
 * `pnpm dev` = this config's dev server. Point it at a running Tandem server with
 * VITE_TANDEM_SERVER=ws://127.0.0.1:1234 (the default) or ?server= in the page URL.
 */
export default defineConfig({
  // Relative asset URLs: the build also works when the server is mounted under a path prefix.
  base: './',
  resolve: {
    // Workspace packages expose their TypeScript under the "source" condition: dev and build
    // read @tandem/sync's src directly, no prior build needed.
    conditions: ['source', ...defaultClientConditions],
  },
  server: {
    host: process.env.VITE_HOST ?? '127.0.0.1',
    port: Number(process.env.VITE_PORT ?? 5173),
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // Tiptap + ProseMirror + Yjs + marked (Markdown export and paste) are one ~670 kB (210 kB gzip)
    // chunk shared by both pages.
    chunkSizeWarningLimit: 800,
    rolldownOptions: {
      input: { main: 'index.html', embed: 'embed.html' },
      output: {
        chunkFileNames: 'assets/tandem-[hash].js',
        assetFileNames: 'assets/tandem-[hash][extname]',
      },
    },
  },
})
