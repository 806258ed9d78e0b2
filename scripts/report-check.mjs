#!/usr/bin/env node
// Build an embeddingReport from a small seeded synthetic set, write it to a temp file, check the
// string, and — when a Chromium binary is found (CHROMIUM_PATH, chromium, chromium-browser,
// google-chrome) — open it headless with --dump-dom and check that the DOM holds the SVG charts
// and the scatter marks. Exits non-zero on any failure; without Chromium the browser check is
// skipped (exit 0 after the string checks) unless --require-browser is given (CI gives it).
//
// Usage (from the repository root): npx tsc -b packages/eval && node scripts/report-check.mjs
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend } from '../packages/core/dist/index.js';
import { embeddingReport } from '../packages/eval/dist/index.js';

const N = 120;
const CLASSES = ['circle', 'square', '<b>tri</b>'];
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
};
const count = (text, pattern) => text.match(pattern)?.length ?? 0;
const POINT = /aria-roledescription="point"/g;

await selectBackend({ preference: 'wasm', log: false });
const rng = new Rng(42);
const rows = [];
const labels = [];
for (let i = 0; i < N; i++) {
  const c = i % CLASSES.length;
  rows.push(Array.from({ length: 8 }, (_, j) => rng.normal() + (j === c ? 5 : 0)));
  labels.push(c);
}
const embeddings = tf.tensor2d(rows);
const html = await embeddingReport({
  embeddings,
  labels,
  classNames: CLASSES,
  title: 'report-check <synthetic>',
  history: { epochs: [1, 2, 3, 4, 5], loss: [2.1, 1.4, 1.0, 0.8, 0.7], metrics: { 'kNN top-1': [0.4, 0.6, 0.75, 0.82, 0.86] } },
  neighbours: 5,
  maxPoints: 100,
  rng: new Rng(1),
});
embeddings.dispose();

const dir = mkdtempSync(join(tmpdir(), 'report-check-'));
const file = join(dir, 'report.html');
writeFileSync(file, html);
console.log(`wrote ${file} (${html.length} characters)`);

check(count(html, /<svg/g) === 2, `string: 2 <svg> charts (got ${count(html, /<svg/g)})`);
check(count(html, POINT) === 100, `string: 100 scatter point marks (got ${count(html, POINT)})`);
check(html.includes('&lt;b&gt;tri&lt;/b&gt;') && !html.includes('<b>'), 'string: class name <b>tri</b> escaped');
check(!/<script|<link|@import|url\(|src=/i.test(html), 'string: self-contained (no script, link, import, url(), src=)');

function findChromium() {
  if (process.env.CHROMIUM_PATH) return existsSync(process.env.CHROMIUM_PATH) ? process.env.CHROMIUM_PATH : undefined;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    for (const folder of (process.env.PATH ?? '').split(delimiter)) {
      const candidate = join(folder, name);
      if (folder && existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

const chromium = findChromium();
if (chromium === undefined) {
  if (process.argv.includes('--require-browser')) check(false, 'browser: no Chromium found (set CHROMIUM_PATH, or install chromium)');
  else console.log('skipped the browser check: no Chromium found (set CHROMIUM_PATH, or install chromium)');
} else {
  const profile = join(dir, 'profile');
  const result = spawnSync(
    chromium,
    [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      // The machine's network is closed: no background connections to fail at start-up.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      '--dump-dom',
      pathToFileURL(file).href,
    ],
    { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
  );
  if (result.error || result.status !== 0) {
    check(false, `browser: ${chromium} exited with ${result.status ?? result.error}: ${(result.stderr ?? '').slice(-500)}`);
  } else {
    const dom = result.stdout;
    console.log(`browser: ${chromium} dumped ${dom.length} characters of DOM`);
    check(count(dom, /<svg/g) >= 2, `browser: DOM holds >= 2 <svg> elements (got ${count(dom, /<svg/g)})`);
    check(count(dom, POINT) === 100, `browser: DOM holds the 100 scatter marks (got ${count(dom, POINT)})`);
    check(/<table class="neighbours">/.test(dom), 'browser: DOM holds the neighbour table');
    check(dom.includes('report-check &lt;synthetic&gt;'), 'browser: DOM holds the escaped title');
  }
}
rmSync(dir, { recursive: true, force: true });
if (failures > 0) {
  console.log(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('all checks passed');
