#!/usr/bin/env node
/**
 * `kMeans` of @contrastive/core at scale: 100,000 x 128 float32 points drawn from a seeded mixture
 * of 1,000 isotropic Gaussians, clustered into 1,000 centres (k-means++ seeding, default
 * tolerance), on the wasm backend with `registerWasmKernels()` (through `selectBackend`).
 * Acceptance: under a minute on the 2-core bench machine, seeding included.
 *
 * Run after `npx tsc -b packages/core`:
 *   node bench/kmeans.mjs [--backend wasm|cpu] [--n 100000] [--d 128] [--k 1000] [--clusters 1000]
 *                         [--noise 0.5] [--seed 0] [--max-iterations 100] [--chunk-rows N] [--init k-means++|random]
 * Prints one JSON line with the measurements (seconds, ms, MB) and a human summary on stderr.
 *
 * Data: centres ~ N(0, I_d), points = centre + noise * N(0, I_d), cluster of each point uniform;
 * everything drawn from core's `Rng(seed)`. Timing: wall clock from the call to its return;
 * `initSeconds` is the time to the first `onIteration` event (k-means++ seeding and the first
 * assignment), `perIterationSeconds` the mean time of each later iteration (update + assignment).
 * Peak tensor memory: the largest `tf.memory().numBytes` seen whenever a tensor is created, above
 * the bytes alive before the call (the input points).
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import * as core from '@contrastive/core';

const args = process.argv.slice(2);
function flag(name, fallback) {
  const index = args.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = args[index + 1];
  if (value === undefined) throw new Error(`--${name} needs a value`);
  return typeof fallback === 'number' ? Number(value) : value;
}
const backend = flag('backend', 'wasm');
const n = flag('n', 100000);
const d = flag('d', 128);
const k = flag('k', 1000);
const clusters = flag('clusters', 1000);
const noise = flag('noise', 0.5);
const seed = flag('seed', 0);
const maxIterations = flag('max-iterations', 100);
const chunkRows = flag('chunk-rows', 0);
const init = flag('init', 'k-means++');

const kMeans = core.kMeans ?? (await import('../packages/core/dist/kmeans.js')).kMeans;

await core.selectBackend({ preference: backend, log: false });

/** V8 compiles the wasm module in the background: run matMuls until it is fast (as run.mjs). */
function warmUp(ms) {
  const a = tf.randomNormal([256, 256]);
  const start = performance.now();
  while (performance.now() - start < ms) tf.dispose(tf.matMul(a, a));
  a.dispose();
}

/** Seeded Gaussian mixture: `[n, d]` float32 points and their `[n]` planted cluster. */
function mixture() {
  const rng = new core.Rng(seed);
  const centres = rng.normalArray(clusters * d);
  const values = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(clusters);
    labels[i] = c;
    for (let t = 0; t < d; t++) values[i * d + t] = centres[c * d + t] + noise * rng.normal();
  }
  return { values, labels };
}

/** Adjusted Rand index (Hubert & Arabie 1985) of two labelings, from the contingency table. */
function adjustedRandIndex(a, b) {
  const size = a.length;
  const table = new Map();
  const rows = new Map();
  const columns = new Map();
  for (let i = 0; i < size; i++) {
    const key = `${a[i]},${b[i]}`;
    table.set(key, (table.get(key) ?? 0) + 1);
    rows.set(a[i], (rows.get(a[i]) ?? 0) + 1);
    columns.set(b[i], (columns.get(b[i]) ?? 0) + 1);
  }
  const pairs = (m) => (m * (m - 1)) / 2;
  let index = 0;
  for (const count of table.values()) index += pairs(count);
  let rowSum = 0;
  for (const count of rows.values()) rowSum += pairs(count);
  let columnSum = 0;
  for (const count of columns.values()) columnSum += pairs(count);
  const expected = (rowSum * columnSum) / pairs(size);
  const maximum = (rowSum + columnSum) / 2;
  return maximum === expected ? 1 : (index - expected) / (maximum - expected);
}

const generated = performance.now();
const { values, labels } = mixture();
const dataSeconds = (performance.now() - generated) / 1000;
const points = tf.tensor2d(values, [n, d]);
if (backend === 'wasm') warmUp(5000);

const engine = tf.engine();
const baselineBytes = engine.state.numBytes;
let peakBytes = baselineBytes;
const track = engine.trackTensor;
engine.trackTensor = function trackAndMeasure(...trackArgs) {
  const out = track.apply(this, trackArgs);
  if (engine.state.numBytes > peakBytes) peakBytes = engine.state.numBytes;
  return out;
};
const rssBefore = process.memoryUsage.rss();
const events = [];
const started = performance.now();
let result;
try {
  result = kMeans(points, {
    k,
    init,
    maxIterations,
    rng: new core.Rng(seed + 1),
    ...(chunkRows > 0 ? { chunkRows } : {}),
    onIteration: ({ iteration, inertia }) => events.push({ iteration, inertia, at: performance.now() }),
  });
} finally {
  engine.trackTensor = track;
}
const finished = performance.now();
const rssAfter = process.memoryUsage.rss();
const assignments = result.assignments.dataSync();
const ari = adjustedRandIndex(labels, assignments);
tf.dispose([result.centroids, result.assignments, points]);

const round = (value, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;
const initSeconds = (events[0].at - started) / 1000;
const last = events[events.length - 1];
const perIterationSeconds = result.iterations > 0 ? (last.at - events[0].at) / 1000 / result.iterations : null;
const mb = (bytes) => round(bytes / 2 ** 20, 1);
const report = {
  bench: 'kMeans',
  backend: tf.getBackend(),
  node: process.version,
  tfjs: tf.version_core,
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', loadavg: os.loadavg().map((v) => round(v, 2)) },
  data: { n, d, clusters, noise, seed, generateSeconds: round(dataSeconds, 2) },
  options: { k, init, maxIterations, tolerance: 1e-4, chunkRows: chunkRows > 0 ? chunkRows : 'default' },
  totalSeconds: round((finished - started) / 1000, 2),
  initSeconds: round(initSeconds, 2),
  perIterationSeconds: perIterationSeconds === null ? null : round(perIterationSeconds, 3),
  iterations: result.iterations,
  converged: result.converged,
  inertia: round(result.inertia, 1),
  inertiaByIteration: events.map((event) => round(event.inertia, 1)),
  adjustedRandIndex: round(ari, 4),
  peakTensorMB: mb(peakBytes),
  peakTensorMBAboveInputs: mb(peakBytes - baselineBytes),
  inputMB: mb(n * d * 4),
  rssMBBefore: mb(rssBefore),
  rssMBAfter: mb(rssAfter),
  underAMinute: (finished - started) / 1000 < 60,
};
console.error(
  `[kmeans] ${report.backend}: ${n}x${d} -> k=${k}: ${report.totalSeconds} s total (init ${report.initSeconds} s, ` +
    `${report.perIterationSeconds} s/iteration x ${report.iterations}, converged ${report.converged}), ARI ${report.adjustedRandIndex}, ` +
    `peak tensors ${report.peakTensorMBAboveInputs} MB above the ${report.inputMB} MB input`,
);
console.log(JSON.stringify(report));
