import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The dashboard is a plain Vite app (no framework) whose build output,
 * dashboard/dist/, is served by the Worker as static assets (wrangler.toml
 * [assets]). `npm run build:dashboard` builds it; `npm run dev` builds it once
 * and then keeps `vite build --watch` running.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  publicDir: 'public',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // uPlot (~50 kB) plus our code stays well under the default warning size.
    chunkSizeWarningLimit: 250,
  },
  server: {
    // `npx vite dashboard` during UI work: API and WebSocket go to `npm run dev`'s Worker.
    proxy: { '/v1': { target: 'http://127.0.0.1:8787', ws: true, changeOrigin: true } },
  },
});
