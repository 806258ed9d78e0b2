import { defineConfig } from 'vite';

// A static page: `vite build` writes dist/ with relative asset URLs (so it can be served from any
// path), the ten MNIST digit files that `loadMnist` imports as JSON modules as ten lazy chunks, and
// the three tfjs wasm binaries (imported with `?url` in src/backend.ts) as assets.
export default defineConfig({
  base: './',
  build: {
    target: 'es2022',
    // Each digit file is about 2 MB of JSON; tfjs (core, layers, three backends) and the eval
    // report's vega make one 2 MB chunk.
    chunkSizeWarningLimit: 4096,
    // Gzip-sizing 24 MB of output only slows the build (and the browser test that runs it).
    reportCompressedSize: false,
  },
});
