#!/usr/bin/env node
// Sums the vitest JSON reports of every workspace (packages/* and apps/*, e.g. the playground's
// browser test) into one closing line: "N passed, N failed, N skipped".
// `--clean` removes stale reports before a run.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const reports = ['packages', 'apps']
  .filter((folder) => existsSync(join(root, folder)))
  .flatMap((folder) => readdirSync(join(root, folder)).map((name) => join(root, folder, name, '.test-results.json')));

if (process.argv.includes('--clean')) {
  for (const file of reports) rmSync(file, { force: true });
  process.exit(0);
}

let passed = 0;
let failed = 0;
let skipped = 0;
const lines = [];
for (const file of reports) {
  if (!existsSync(file)) continue;
  const result = JSON.parse(readFileSync(file, 'utf8'));
  const pkgSkipped = (result.numPendingTests ?? 0) + (result.numTodoTests ?? 0);
  passed += result.numPassedTests;
  failed += result.numFailedTests;
  skipped += pkgSkipped;
  lines.push(`  ${file.split('/').at(-2)}: ${result.numPassedTests} passed, ${result.numFailedTests} failed, ${pkgSkipped} skipped`);
}
console.log(['', 'Test summary:', ...lines].join('\n'));
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
