import { defineConfig } from 'vite';
import type { Plugin } from 'vite';

const DYNAMIC_JSON_IMPORT = /import\(\s*(['"][^'"]+\.json['"])\s*,\s*\{\s*with\s*:\s*\{\s*type\s*:\s*['"]json['"]\s*\}\s*\}\s*\)/g;

/**
 * `loadMnist` (`@contrastive/data`) loads the digit files with `import('….json', { with: { type:
 * 'json' } })`. The dev server keeps the attribute but serves the JSON as a JavaScript module, which
 * Chromium rejects ("Expected a JSON module script"; vitejs/vite#19095). Dropping the attribute in
 * dev lets Vite's JSON handling apply, as it does in `vite build` (where Rollup bundles the files).
 */
function dynamicJsonImportsInDev(): Plugin {
  return {
    name: 'dynamic-json-imports-in-dev',
    apply: 'serve',
    transform(code) {
      if (!code.includes('json')) return null;
      const stripped = code.replace(DYNAMIC_JSON_IMPORT, 'import($1)');
      return stripped === code ? null : { code: stripped, map: null };
    },
  };
}

// A static page: `vite build` writes dist/ with relative asset URLs (so it can be served from any
// path), the ten MNIST digit files that `loadMnist` imports as JSON modules as ten lazy chunks, and
// the three tfjs wasm binaries (imported with `?url` in src/backend.ts) as assets.
export default defineConfig({
  base: './',
  plugins: [dynamicJsonImportsInDev()],
  build: {
    target: 'es2022',
    // Each digit file is about 2 MB of JSON; tfjs (core, layers, three backends) and the eval
    // report's vega make one 2 MB chunk.
    chunkSizeWarningLimit: 4096,
    // Gzip-sizing 24 MB of output only slows the build (and the browser test that runs it).
    reportCompressedSize: false,
  },
});
