#!/usr/bin/env node
// typedoc documents each package's entry points; they must be exactly the package's `exports`
// (dist/X.js <-> src/X.ts), so that the API site cannot drift from what users can import.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
let failed = false;
for (const name of readdirSync(join(root, 'packages'))) {
  const dir = join(root, 'packages', name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const typedoc = JSON.parse(readFileSync(join(dir, 'typedoc.json'), 'utf8'));
  const fromExports = Object.entries(pkg.exports)
    .filter(([key]) => key !== './package.json')
    .map(([, target]) => target.import.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'))
    .sort();
  const documented = [...typedoc.entryPoints].sort();
  if (JSON.stringify(fromExports) !== JSON.stringify(documented)) {
    failed = true;
    console.error(`${pkg.name}: typedoc entryPoints ${JSON.stringify(documented)} != exports ${JSON.stringify(fromExports)}`);
  }
}
if (failed) process.exit(1);
console.log('typedoc entry points match every package\'s exports');
