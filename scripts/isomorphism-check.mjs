#!/usr/bin/env node
// Bundle each browser-facing package (core, losses, samplers, augment, eval) for the browser with
// esbuild and fail if the bundle pulls in a Node.js built-in (fs, path, process, os, worker_threads,
// ... with or without the node: prefix) through a static import. Dynamic imports of built-ins
// stay allowed and are listed: they sit behind a Node.js check (the exact-kNN kernel's worker
// threads, the optional hnswlib-node index, tfjs-backend-wasm threads in Node) and never run in a
// browser. Node-only entry points (`@contrastive/core/node`, `@contrastive/data/node`) are not
// bundled; TensorFlow.js, a peer with its own browser builds, is left external. Usage (after npm run build): node scripts/isomorphism-check.mjs
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const PACKAGES = ['core', 'losses', 'samplers', 'augment', 'eval'];
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
let failures = 0;

/** Bundle `entry` (a file path, or source text via stdin) and list its static and dynamic built-in imports. */
async function inspect(entry) {
  const statics = [];
  const dynamics = new Set();
  const guard = {
    name: 'node-builtins',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.split('/')[0] ?? args.path;
        const isBuiltin = builtins.has(args.path) || builtins.has(bare);
        if (!isBuiltin && args.path !== 'hnswlib-node') return undefined;
        if (args.kind === 'dynamic-import') {
          dynamics.add(args.path);
        } else {
          statics.push(`${args.path} (${args.kind} from ${args.importer.replace(root, '')})`);
        }
        return { path: args.path, external: true };
      });
    },
  };
  const result = await esbuild.build({
    ...(entry.file ? { entryPoints: [entry.file] } : { stdin: { contents: entry.source, resolveDir: root, loader: 'js' } }),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    // TensorFlow.js is a peer dependency with its own browser builds (its Node platform file is
    // mapped away by its package.json "browser" field); the check is about our code and our own
    // dependencies.
    external: ['@tensorflow/*'],
    plugins: [guard],
  });
  const bytes = result.outputFiles.reduce((sum, file) => sum + file.contents.length, 0);
  return { statics, dynamics, bytes };
}

// The check must be able to fail: a module importing fs and path statically is caught, a dynamic
// import is not.
{
  const probe = await inspect({ source: "import fs from 'fs'; import { join } from 'node:path'; export const f = () => import('node:os'); export { fs, join };" });
  if (probe.statics.length !== 2 || !probe.dynamics.has('node:os')) {
    console.log(`FAIL self-test: expected 2 static built-ins and 1 dynamic, got ${JSON.stringify({ statics: probe.statics, dynamics: [...probe.dynamics] })}`);
    process.exit(1);
  }
  console.log('ok   self-test: a static fs/path import is caught, a dynamic node:os import is allowed');
}

for (const name of PACKAGES) {
  const { statics, dynamics, bytes } = await inspect({ file: `${root}packages/${name}/dist/index.js` });
  if (statics.length > 0) {
    failures++;
    console.log(`FAIL @contrastive/${name}: the browser bundle imports Node.js built-ins statically:\n  ${statics.join('\n  ')}`);
  } else {
    const note = dynamics.size > 0 ? `; Node-only dynamic imports behind a runtime check: ${[...dynamics].sort().join(', ')}` : '';
    console.log(`ok   @contrastive/${name}: browser bundle ${(bytes / 1024).toFixed(0)} KB, no static Node.js built-in${note}`);
  }
}
if (failures > 0) process.exit(1);
console.log('all packages bundle for the browser without Node.js built-ins');
