#!/usr/bin/env node
/**
 * `retrievalMetrics` of @contrastive/eval at scale: exact self-retrieval precision@1 and MAP@R over
 * n x d float32 embeddings (default 1,000,000 x 128) on the wasm backend, with the default engine
 * (the WebAssembly SIMD kernel, all logical processors).
 *
 * Run after `npm run build` (run it under `node --max-old-space-size=4096` to hold V8's heap to
 * 4 GB, as `node bench/run.mjs --retrieval` does):
 *   node bench/retrieval-scale.mjs [--n 1000000] [--d 128] [--classes 1000] [--noise 1.5]
 *                                  [--distance euclidean|cosine|dot] [--threads N] [--seed 0] [--verify 8]
 * Prints one JSON line with the measurements and a human summary on stderr.
 *
 * Data: class centres ~ N(0, I_d), each point = its centre + noise * N(0, I_d), label = index mod
 * classes (so every class has n / classes members and R = n / classes - 1), drawn from core's
 * `Rng(seed)`. Timing: wall clock of the `retrievalMetrics` call (copying the reference out of
 * the backend, packing, searching, scoring). Memory: the process's peak resident set
 * (`process.resourceUsage().maxRSS`: V8 heap, the backend's and the kernel's WebAssembly memories,
 * the worker threads) and the largest V8 heap seen by a 200 ms sampler.
 * Verification: for `--verify` queries spread over the set, the kernel's top 10 equal a float64
 * brute force over all n references (self excluded).
 */
import os from 'node:os';
import v8 from 'node:v8';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import * as core from '@contrastive/core';
import * as evaluation from '@contrastive/eval';

const args = process.argv.slice(2);
function flag(name, fallback) {
  const index = args.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = args[index + 1];
  if (value === undefined) throw new Error(`--${name} needs a value`);
  return typeof fallback === 'number' ? Number(value) : value;
}
const n = flag('n', 1_000_000);
const d = flag('d', 128);
const classes = flag('classes', 1000);
const noise = flag('noise', 1.5);
const distance = flag('distance', 'euclidean');
const threads = flag('threads', 0);
const seed = flag('seed', 0);
const verify = flag('verify', 8);

await core.selectBackend({ preference: 'wasm', log: false });
const { kernelSearch } = await import(new URL('../packages/eval/dist/exact-search.js', import.meta.url));

const generateStart = performance.now();
const rng = new core.Rng(seed);
const centres = Float32Array.from(rng.normalArray(classes * d));
const host = new Float32Array(n * d);
const step = 65536;
for (let start = 0; start < n; start += step) {
  const rows = Math.min(step, n - start);
  const draws = rng.normalArray(rows * d);
  for (let r = 0; r < rows; r++) {
    const c = (start + r) % classes;
    for (let k = 0; k < d; k++) host[(start + r) * d + k] = centres[c * d + k] + noise * draws[r * d + k];
  }
}
const labelsHost = Int32Array.from({ length: n }, (_, i) => i % classes);
const embeddings = tf.tensor2d(host, [n, d]);
const labels = tf.tensor1d(labelsHost, 'int32');
const generateSeconds = (performance.now() - generateStart) / 1000;
console.error(`generated ${n} x ${d} (${classes} classes) in ${generateSeconds.toFixed(1)} s`);

let peakHeap = 0;
const sample = () => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
};
const sampler = setInterval(sample, 200);
const start = performance.now();
const result = await evaluation.retrievalMetrics({
  query: embeddings,
  queryLabels: labels,
  distance,
  metrics: ['precisionAtOne', 'meanAveragePrecisionAtR'],
  ...(threads > 0 ? { threads } : {}),
});
const seconds = (performance.now() - start) / 1000;
sample();
clearInterval(sampler);
const maxRssMB = process.resourceUsage().maxRSS / 1024;

// Spot check against a float64 brute force over the whole set.
let mismatches = 0;
if (verify > 0) {
  const picks = Array.from({ length: verify }, (_, i) => Math.floor(((i + 0.5) * n) / verify));
  const sub = tf.tensor2d(Float32Array.from(picks.flatMap((i) => Array.from(host.subarray(i * d, (i + 1) * d)))), [verify, d]);
  const got = [];
  await kernelSearch(sub, embeddings, { width: 11, distance, excludeSelf: false, threads: 1, caller: 'bench' }, (chunk) => {
    for (let r = 0; r < chunk.rows; r++) got.push(Array.from(chunk.indices.subarray(r * 11, (r + 1) * 11)));
  });
  sub.dispose();
  const norm = (i) => {
    let s = 0;
    for (let k = 0; k < d; k++) s += host[i * d + k] ** 2;
    return Math.sqrt(s);
  };
  picks.forEach((qi, row) => {
    const qn = distance === 'cosine' ? norm(qi) : 1;
    const top = [];
    for (let j = 0; j < n; j++) {
      if (j === qi) continue;
      let dot = 0;
      let sq = 0;
      for (let k = 0; k < d; k++) {
        const a = host[qi * d + k];
        const b = host[j * d + k];
        dot += a * b;
        sq += (a - b) * (a - b);
      }
      const value = distance === 'euclidean' ? -sq : distance === 'cosine' ? dot / (qn * norm(j)) : dot;
      if (top.length < 10 || value > top[top.length - 1].value) {
        top.push({ value, j });
        top.sort((x, y) => y.value - x.value || x.j - y.j);
        if (top.length > 10) top.pop();
      }
    }
    const kernel = got[row].filter((j) => j !== qi).slice(0, 10);
    for (let t = 0; t < 10; t++) if (kernel[t] !== top[t].j) mismatches++;
  });
}

const heap = v8.getHeapStatistics();
const out = {
  n,
  d,
  classes,
  noise,
  distance,
  backend: tf.getBackend(),
  engine: 'kernel (auto)',
  threads: threads > 0 ? threads : os.availableParallelism(),
  seconds: Number(seconds.toFixed(1)),
  precisionAtOne: result.precisionAtOne,
  meanAveragePrecisionAtR: result.meanAveragePrecisionAtR,
  evaluatedQueries: result.evaluatedQueries,
  peakRssMB: Math.round(maxRssMB),
  peakHeapUsedMB: Math.round(peakHeap / 2 ** 20),
  heapLimitMB: Math.round(heap.heap_size_limit / 2 ** 20),
  verifiedQueries: verify,
  verifyMismatchesTop10: mismatches,
  node: process.version,
  cpu: os.cpus()[0]?.model ?? 'unknown',
};
console.error(
  `retrievalMetrics ${n} x ${d}: ${seconds.toFixed(1)} s, P@1 ${result.precisionAtOne?.toFixed(4)}, MAP@R ${result.meanAveragePrecisionAtR?.toFixed(4)}, ` +
    `peak RSS ${out.peakRssMB} MB, peak V8 heap ${out.peakHeapUsedMB} MB (limit ${out.heapLimitMB} MB), top-10 mismatches vs float64 on ${verify} queries: ${mismatches}`,
);
console.log(JSON.stringify(out));
tf.dispose([embeddings, labels]);
