#!/usr/bin/env node
/**
 * Issue 10's ANN table: `hnswIndex` of @contrastive/eval (hnswlib-node, HNSW M 16, efConstruction
 * 200) over n x d points of a seeded mixture of Gaussians (bench/retrieval-scale.mjs's generator:
 * 1,000 classes, noise 1.5), queried with `--queries` fresh points of the same mixture for their top
 * 10; recall@10 against the exact top 10 of eval's exact kernel (all cores). Prints one JSON line.
 *
 *   node bench/ann.mjs [--n 1000000] [--d 128] [--queries 1000] [--efs 64,256]
 *
 * build: seconds of `hnswIndex(...)`; query: mean ms per query (one query at a time, after 100
 * warm-up queries); rss: the process's resident set after the build (the points are also held as a
 * tensor and a host array: `rssPointsMB` says how much of it they are).
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as core from '@contrastive/core';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at < 0 ? fallback : typeof fallback === 'number' ? Number(args[at + 1]) : args[at + 1];
};
const n = flag('n', 1_000_000);
const d = flag('d', 128);
const classes = flag('classes', 1000);
const noise = flag('noise', 1.5);
const queriesCount = flag('queries', 1000);
const efs = String(flag('efs', '64,256')).split(',').map(Number);
const seed = flag('seed', 0);

await core.selectBackend({ preference: 'wasm', log: false });
const { kernelSearch } = await import(new URL('../packages/eval/dist/exact-search.js', import.meta.url));

const mb = (bytes) => Math.round(bytes / 2 ** 20);
const rssBefore = process.memoryUsage.rss();
const rng = new core.Rng(seed);
const centres = Float32Array.from(rng.normalArray(classes * d));
function mixture(count, offset) {
  const out = new Float32Array(count * d);
  const step = 65536;
  for (let start = 0; start < count; start += step) {
    const rows = Math.min(step, count - start);
    const draws = rng.normalArray(rows * d);
    for (let r = 0; r < rows; r++) {
      const c = (offset + start + r) % classes;
      for (let k = 0; k < d; k++) out[(start + r) * d + k] = centres[c * d + k] + noise * draws[r * d + k];
    }
  }
  return out;
}
const host = mixture(n, 0);
const queries = mixture(queriesCount, n);
const reference = tf.tensor2d(host, [n, d]);
const rssPoints = process.memoryUsage.rss() - rssBefore;

// Exact top 10 of every query (the kernel, all cores).
const exactStart = performance.now();
const queryTensor = tf.tensor2d(queries, [queriesCount, d]);
const exact = new Int32Array(queriesCount * 10);
await kernelSearch(queryTensor, reference, { width: 10, distance: 'euclidean', excludeSelf: false, threads: os.availableParallelism(), caller: 'bench' }, (chunk) => {
  exact.set(chunk.indices, chunk.start * 10);
});
const exactSeconds = (performance.now() - exactStart) / 1000;
console.error(`[ann] exact top 10 of ${queriesCount} queries over ${n} x ${d}: ${exactSeconds.toFixed(1)} s`);

// The graph is built the way `hnswIndex` builds it (same library, space, M, efConstruction, seed
// and insertion order), through hnswlib-node directly so that one graph serves every ef.
const { default: hnswlib } = await import('hnswlib-node');
const buildStart = performance.now();
const graph = new hnswlib.HierarchicalNSW('l2', d);
graph.initIndex(n, 16, 200, 100);
for (let j = 0; j < n; j++) {
  graph.addPoint(Array.from(host.subarray(j * d, (j + 1) * d)), j);
  if (j > 0 && j % 100000 === 0) console.error(`[ann] built ${j} points, ${((performance.now() - buildStart) / 1000).toFixed(0)} s`);
}
const buildSeconds = (performance.now() - buildStart) / 1000;
const rssAfterBuild = process.memoryUsage.rss();
console.error(`[ann] build: ${buildSeconds.toFixed(1)} s, RSS ${mb(rssAfterBuild)} MB`);

const results = [];
for (const ef of efs) {
  graph.setEf(Math.max(ef, 10));
  for (let i = 0; i < 100; i++) graph.searchKnn(Array.from(queries.subarray((i % queriesCount) * d, ((i % queriesCount) + 1) * d)), 10);
  const start = performance.now();
  let hits = 0;
  for (let q = 0; q < queriesCount; q++) {
    const { neighbors } = graph.searchKnn(Array.from(queries.subarray(q * d, (q + 1) * d)), 10);
    const truth = new Set(exact.subarray(q * 10, q * 10 + 10));
    for (const id of neighbors) if (truth.has(id)) hits++;
  }
  const queryMs = (performance.now() - start) / queriesCount;
  results.push({ ef, queryMs: Math.round(queryMs * 1000) / 1000, recallAt10: Math.round((hits / (queriesCount * 10)) * 10000) / 10000 });
  console.error(`[ann] ef ${ef}: ${JSON.stringify(results[results.length - 1])}`);
}
console.log(
  JSON.stringify({
    engine: 'hnswlib-node 3 (as hnswIndex of @contrastive/eval builds it)',
    n,
    d,
    classes,
    noise,
    queries: queriesCount,
    m: 16,
    efConstruction: 200,
    buildSeconds: Math.round(buildSeconds * 10) / 10,
    exactSeconds: Math.round(exactSeconds * 10) / 10,
    rssAfterBuildMB: mb(rssAfterBuild),
    rssPointsMB: mb(rssPoints),
    results,
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    loadavg: os.loadavg().map((v) => Math.round(v * 100) / 100),
    date: new Date().toISOString(),
  }),
);
