#!/usr/bin/env node
/**
 * Training speed on the TensorFlow.js wasm backend, with and without the kernels of
 * `registerWasmKernels()` from @contrastive/core, and matMul on the cpu backend for comparison.
 * Run with `npm run bench` (it builds first); writes bench/results.json and prints a table.
 *
 * Flags: --reps N (timed runs per figure, default 7), --quick (3 reps, fewer shapes), --losses (only
 * the InfoNCE-family loss figures, merged into an existing bench/results.json), --kmeans (only the
 * kMeans figure of bench/kmeans.mjs, merged the same way), --augment (only the view-generation
 * figures and PNG previews of bench/augment.mjs, merged the same way), --retrieval (only the exact
 * retrieval metrics over 1,000,000 x 128 of bench/retrieval-scale.mjs — about an hour on 2 cores —
 * merged the same way; the full run keeps the figure already in bench/results.json), --table (only
 * issue 8's table of bench/training.mjs — losses, steps and recipe epochs at the torch shapes, on
 * wasm with 2 threads — merged the same way; `--table --skip-epochs` leaves out the epochs,
 * `--epochs N` sets the recipe epochs per dataset, default 11). Where Python with torch is installed
 * (Debian: python3-torch, with libopenblas0 for its BLAS), the table also runs the torch side on this
 * machine (bench/torch/table.py, bench/torch/recipe_epoch.py; `--no-torch` skips it), and where
 * Python also has pytorch-metric-learning, PML's losses (bench/torch/pml.py). Each step and loss row
 * runs in turns, ours, torch's and PML's one run each (`--pairs P` runs per side, default `--rounds R`
 * (3) x reps).
 * Every figure is the median of N runs after warm-up runs, in milliseconds.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers the gradients
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import * as core from '@contrastive/core';
import { cnnModel, mlpModel } from './models.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const lossesOnly = args.includes('--losses');
const kMeansOnly = args.includes('--kmeans');
const augmentOnly = args.includes('--augment');
const retrievalOnly = args.includes('--retrieval');
const tableOnly = args.includes('--table');
const repsFlag = args.indexOf('--reps');
const REPS = repsFlag >= 0 ? Number(args[repsFlag + 1]) : quick ? 3 : 7;
const WARMUP = 2;

let losses = {};
try {
  losses = await import('@contrastive/losses');
} catch {
  // not built: the inline NT-Xent below is used
}

const sources = {
  mlpEncoder: '@contrastive/core mlpEncoder',
  convEncoder: '@contrastive/core convEncoder',
  projectionHead: '@contrastive/core projectionHead',
  ntXentLoss: typeof losses.ntXentLoss === 'function' ? '@contrastive/losses ntXentLoss' : 'inline NT-Xent',
};

// ---------------------------------------------------------------- timing

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median wall time of `run` (which must finish its work synchronously or return a promise). */
async function measure(run, reps = REPS) {
  for (let i = 0; i < WARMUP; i++) await run();
  const times = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return Math.round(median(times) * 10) / 10;
}

/** `measure`, or the error message when the computation throws (e.g. a missing kernel). */
async function attempt(run, reps) {
  try {
    return await measure(run, reps);
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return `throws: ${message}`;
  }
}

/** V8 compiles the wasm module in the background: run matMuls until it is fast. */
function warmUp(ms) {
  const a = tf.randomNormal([256, 256]);
  const start = performance.now();
  while (performance.now() - start < ms) tf.dispose(tf.matMul(a, a));
  a.dispose();
}

// ---------------------------------------------------------------- workloads

const MATMUL_SHAPES = quick ? [[512, 784, 256]] : [[512, 784, 256], [1024, 1024, 1024], [256, 128, 512]];
const FORMS = { NN: [false, false], NT: [false, true], TN: [true, false], TT: [true, true] };

async function matMulForms([m, k, n], reps) {
  const a = tf.randomNormal([m, k], 0, 1, 'float32', 1);
  const b = tf.randomNormal([k, n], 0, 1, 'float32', 2);
  const aT = tf.transpose(a);
  const bT = tf.transpose(b);
  const result = {};
  for (const [form, [transposeA, transposeB]] of Object.entries(FORMS)) {
    result[form] = await attempt(() => {
      const c = tf.matMul(transposeA ? aT : a, transposeB ? bT : b, transposeA, transposeB);
      c.dataSync();
      c.dispose();
    }, reps);
  }
  tf.dispose([a, b, aT, bT]);
  return result;
}

/** Kernels that dominate a CNN step, at the shapes of the reference CNN (batch 512). */
const KERNELS = {
  'Conv2D 3x3 [512,14,14,32]->64 (forward, reference)': () => {
    const x = tf.randomNormal([512, 14, 14, 32]);
    const w = tf.randomNormal([3, 3, 32, 64]);
    return { run: () => tf.conv2d(x, w, 1, 'same'), inputs: [x, w] };
  },
  'Conv2DBackpropInput 3x3 [512,14,14,64]->32': () => {
    const dy = tf.randomNormal([512, 14, 14, 64]);
    const w = tf.randomNormal([3, 3, 32, 64]);
    return { run: () => tf.conv2dTranspose(dy, w, [512, 14, 14, 32], 1, 'same'), inputs: [dy, w] };
  },
  'Conv2DBackpropFilter 3x3 [512,14,14,32]->64': () => {
    const x = tf.randomNormal([512, 14, 14, 32]);
    const dy = tf.randomNormal([512, 14, 14, 64]);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 32, 64] };
    return { run: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs), inputs: [x, dy] };
  },
  'Conv2DBackpropFilter 3x3 [512,28,28,1]->32': () => {
    const x = tf.randomNormal([512, 28, 28, 1]);
    const dy = tf.randomNormal([512, 28, 28, 32]);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 1, 32] };
    return { run: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs), inputs: [x, dy] };
  },
  'MaxPoolGrad 2x2/2 [512,28,28,32]': () => {
    const input = tf.randomNormal([512, 28, 28, 32]);
    const output = tf.maxPool(input, 2, 2, 'valid');
    const dy = tf.randomNormal(output.shape);
    const attrs = { filterSize: 2, strides: 2, pad: 'valid' };
    return { run: () => tf.engine().runKernel('MaxPoolGrad', { dy, input, output }, attrs), inputs: [input, output, dy] };
  },
  'Sum (bias gradient) [512,28,28,32] over [0,1,2]': () => {
    const x = tf.randomNormal([512, 28, 28, 32]);
    return { run: () => tf.sum(x, [0, 1, 2]), inputs: [x] };
  },
};

async function kernelTimes(reps) {
  const result = {};
  for (const [name, make] of Object.entries(KERNELS)) {
    const { run, inputs } = make();
    result[name] = await attempt(() => tf.dispose(run()), reps);
    tf.dispose(inputs);
  }
  return result;
}

function inlineNtXent(z, temperature) {
  const n2 = z.shape[0];
  const n = n2 / 2;
  const unit = tf.div(z, tf.maximum(tf.norm(z, 'euclidean', 1, true), 1e-12));
  const logits = tf.sub(tf.div(tf.matMul(unit, unit, false, true), temperature), tf.mul(tf.eye(n2), 1e9));
  const other = tf.concat([tf.range(n, n2, 1, 'int32'), tf.range(0, n, 1, 'int32')]);
  return tf.losses.softmaxCrossEntropy(tf.oneHot(other, n2), logits);
}

function makeLoss(views) {
  const temperature = 0.5;
  if (typeof losses.ntXentLoss === 'function') {
    const loss = losses.ntXentLoss({ temperature });
    const labels = core.viewLabels(views / 2);
    return { compute: (z) => loss.compute({ embeddings: z, labels }), dispose: () => labels.dispose() };
  }
  return { compute: (z) => inlineNtXent(z, temperature), dispose: () => {} };
}

/** One Adam step of `model` on a fixed batch of 512 views (256 pairs). */
async function trainStep(makeModel, inputShape, reps) {
  const views = 512;
  const x = tf.randomUniform([views, ...inputShape], 0, 1, 'float32', 3);
  const model = makeModel();
  const loss = makeLoss(views);
  const optimizer = core.adam(1e-3); // tf.train.adam's results; its step fused on wasm
  try {
    return await attempt(() => {
      const value = optimizer.minimize(() => loss.compute(model.apply(x)), true, model.variables);
      value.dataSync();
      value.dispose();
    }, reps);
  } finally {
    optimizer.dispose();
    loss.dispose();
    model.dispose();
    x.dispose();
  }
}

// ------------------------------------ InfoNCE-family, contrastive and triplet losses (issue 3)

/** A loss factory from the package index, or (before it is exported there) from its built file. */
async function lossFactory(name, file) {
  if (typeof losses[name] === 'function') return losses[name];
  try {
    const module = await import(new URL(`../packages/losses/dist/${file}`, import.meta.url));
    return typeof module[name] === 'function' ? module[name] : null;
  } catch {
    return null;
  }
}

const INFO_NCE_FAMILY = {
  ntXentLoss: { file: 'nt-xent.js', options: { temperature: 0.1 } },
  supConLoss: { file: 'supcon-loss.js', options: { temperature: 0.1 } },
  infoNceLoss: { file: 'info-nce-loss.js', options: { temperature: 0.07 } },
  clipLoss: { file: 'clip-loss.js', options: { temperature: 0.07 } },
  debiasedContrastiveLoss: { file: 'debiased-contrastive-loss.js', options: { temperature: 0.5, tauPlus: 0.1 } },
  hardNegativeLoss: { file: 'hard-negative-loss.js', options: { temperature: 0.5, beta: 1, tauPlus: 0.1 } },
  contrastiveLoss: { file: 'contrastive-loss.js', options: {} },
  // Timed with batch-hard mining included (as issue 8's "triplet with batch-hard mining" row).
  tripletMarginLoss: { file: 'triplet-margin-loss.js', options: { margin: 0.2 }, mine: 'batchHard' },
};

/**
 * Batch-hard triplets (Hermans et al. 2017) from normalized Euclidean distances, outside the
 * gradient: per anchor the farthest positive and the nearest negative.
 */
function batchHardTuples(x, labels) {
  const [anchor, positive, negative] = tf.tidy(() => {
    const n = x.shape[0];
    const d = core.lpDistance().pairwise(x);
    const l = tf.cast(labels, 'float32');
    const same = tf.sub(1, tf.sign(tf.abs(tf.sub(tf.reshape(l, [n, 1]), tf.reshape(l, [1, n])))));
    const positives = tf.sub(same, tf.eye(n));
    const hardestPositive = tf.argMax(tf.sub(tf.mul(d, positives), tf.mul(tf.sub(1, positives), 1e9)), 1);
    const hardestNegative = tf.argMin(tf.add(d, tf.mul(same, 1e9)), 1);
    return [tf.range(0, n, 1, 'int32'), tf.cast(hardestPositive, 'int32'), tf.cast(hardestNegative, 'int32')];
  });
  return { kind: 'triplets', anchor, positive, negative };
}
const LOSS_SIZES = quick ? [256, 1024] : [256, 1024, 4096];
const LOSS_DIM = 128;

/** Forward + backward (tf.valueAndGrad w.r.t. the embeddings) of each loss at N x 128, view labels. */
async function infoNceFamilyTimes() {
  const result = {};
  for (const [name, { file, options, mine }] of Object.entries(INFO_NCE_FAMILY)) {
    const factory = await lossFactory(name, file);
    result[name] = {};
    if (factory === null) {
      for (const n of LOSS_SIZES) result[name][n] = 'missing';
      continue;
    }
    for (const n of LOSS_SIZES) {
      const x = tf.randomNormal([n, LOSS_DIM], 0, 1, 'float32', 7);
      const labels = core.viewLabels(n / 2);
      const loss = factory(options);
      result[name][n] = await attempt(() => {
        const tuples = mine === 'batchHard' ? batchHardTuples(x, labels) : undefined;
        const { value, grad } = tf.valueAndGrad((e) => loss.compute({ embeddings: e, labels, ...(tuples === undefined ? {} : { tuples }) }))(x);
        tf.sum(grad).dataSync();
        tf.dispose([value, grad]);
        if (tuples !== undefined) tf.dispose([tuples.anchor, tuples.positive, tuples.negative]);
      }, n >= 4096 ? Math.min(REPS, 3) : REPS);
      loss.dispose?.();
      tf.dispose([x, labels]);
    }
  }
  return result;
}

/**
 * Peak memory of one NT-Xent forward + backward at N = 32,768, d = 128 (view labels): the largest
 * `tf.memory().numBytes` seen whenever a tensor is created, the process RSS sampled at the same
 * moments, and the wasm heap size. No warm-up: one run.
 */
async function ntXentPeakMemory(n = 32768, d = LOSS_DIM) {
  const factory = await lossFactory('ntXentLoss', 'nt-xent.js');
  if (factory === null) return 'missing';
  const engine = tf.engine();
  const x = tf.randomNormal([n, d], 0, 1, 'float32', 9);
  const labels = core.viewLabels(n / 2);
  const loss = factory({ temperature: 0.1 });
  const baseline = { tensorBytes: engine.state.numBytes, rss: process.memoryUsage.rss() };
  const peak = { tensorBytes: baseline.tensorBytes, rss: baseline.rss };
  const track = engine.trackTensor;
  engine.trackTensor = function trackAndMeasure(...trackArgs) {
    const out = track.apply(this, trackArgs);
    if (engine.state.numBytes > peak.tensorBytes) peak.tensorBytes = engine.state.numBytes;
    const rss = process.memoryUsage.rss();
    if (rss > peak.rss) peak.rss = rss;
    return out;
  };
  const started = performance.now();
  let finite = false;
  try {
    const { value, grad } = tf.valueAndGrad((e) => loss.compute({ embeddings: e, labels }))(x);
    finite = Number.isFinite(value.dataSync()[0]) && Number.isFinite(tf.sum(grad).dataSync()[0]);
    tf.dispose([value, grad]);
  } finally {
    engine.trackTensor = track;
  }
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  let wasmHeapBytes = null;
  try {
    wasmHeapBytes = tf.backend().wasm.HEAPU8.buffer.byteLength;
  } catch {
    // not the wasm backend
  }
  tf.dispose([x, labels]);
  const mb = (bytes) => Math.round(bytes / 2 ** 20);
  return {
    n,
    d,
    seconds,
    finite,
    peakTensorMB: mb(peak.tensorBytes),
    peakTensorMBAboveInputs: mb(peak.tensorBytes - baseline.tensorBytes),
    denseMatrixMB: mb(n * n * 4),
    rssMBBefore: mb(baseline.rss),
    peakRssMB: mb(peak.rss),
    wasmHeapMB: wasmHeapBytes === null ? null : mb(wasmHeapBytes),
  };
}

async function infoNceFamily() {
  return {
    description: `forward + backward (valueAndGrad w.r.t. the embeddings) ms, N x ${LOSS_DIM}, view labels (N/2 pairs), triplet including batch-hard mining, wasm with registerWasmKernels(); default chunking (blocks of <= 2^22 similarities)`,
    ms: await infoNceFamilyTimes(),
    ntXentPeakMemory: await ntXentPeakMemory(),
  };
}

function printInfoNceFamily(family) {
  const names = Object.keys(family.ms);
  const width = Math.max(...names.map((name) => name.length), 12);
  console.log(`\n${'fwd+bwd ms'.padEnd(width)}  ${LOSS_SIZES.map((n) => `N=${n}`.padStart(9)).join('  ')}`);
  for (const name of names) {
    console.log(`${name.padEnd(width)}  ${LOSS_SIZES.map((n) => cell(family.ms[name][n]).padStart(9)).join('  ')}`);
  }
  const memory = family.ntXentPeakMemory;
  if (typeof memory === 'object') {
    console.log(
      `NT-Xent N=${memory.n} d=${memory.d}: ${memory.seconds} s, peak tf.memory().numBytes ${memory.peakTensorMB} MB ` +
        `(${memory.peakTensorMBAboveInputs} MB above the inputs; one dense N x N float32 matrix is ${memory.denseMatrixMB} MB), ` +
        `RSS ${memory.rssMBBefore} -> ${memory.peakRssMB} MB, wasm heap ${memory.wasmHeapMB} MB, finite: ${memory.finite}`,
    );
  }
}

const cell = (value) => (typeof value === 'number' ? value.toFixed(1) : value === null || value === undefined ? '-' : value === 'missing' ? 'missing' : 'throws');

/** bench/kmeans.mjs in a child process (a fresh wasm heap): 100,000 x 128 points into 1,000 centres. */
function kMeansBench() {
  const script = fileURLToPath(new URL('./kmeans.mjs', import.meta.url));
  const child = spawnSync(process.execPath, [script, '--backend', 'wasm'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (child.status !== 0) throw new Error(`bench/kmeans.mjs failed with status ${child.status}`);
  const lines = child.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** bench/augment.mjs in a child process: two-view presets on 256 digits, PNG previews. */
function augmentBench() {
  const script = fileURLToPath(new URL('./augment.mjs', import.meta.url));
  const child = spawnSync(process.execPath, [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (child.status !== 0) throw new Error(`bench/augment.mjs failed with status ${child.status}`);
  const lines = child.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** bench/retrieval-scale.mjs in a child process with V8's heap held to 4 GB. */
function retrievalScaleBench() {
  const script = fileURLToPath(new URL('./retrieval-scale.mjs', import.meta.url));
  const child = spawnSync(process.execPath, ['--max-old-space-size=4096', script], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (child.status !== 0) throw new Error(`bench/retrieval-scale.mjs failed with status ${child.status}`);
  const lines = child.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/**
 * Issue 8's reference figures, ms, as the issue measured them (2 cores, AMD Zen 5): hand-written
 * torch 1.13 on CPU with 2 threads, and pytorch-metric-learning 2.8.1 (null: no such loss / out of
 * memory). Where Python with torch is installed, bench/torch/ measures the torch column again on
 * the machine the table runs on, and the ratio uses that figure; where it also has
 * pytorch-metric-learning, bench/torch/pml.py measures the PML column there (`pmlIssue` keeps the
 * issue's).
 */
const TORCH = {
  ntXent256: { torch: 4.0, pml: 1609 },
  ntXent1024: { torch: 29.7, pml: 'OOM' },
  supCon1024: { torch: 9.3, pml: 16.2 },
  tripletBatchHard1024: { torch: 9.2, pml: 19.2 },
  contrastive1024: { torch: 13.7, pml: 13.1 },
  clip1024: { torch: 9.2, pml: null },
  hcl1024: { torch: 77.9, pml: null },
  mlpStep512: { torch: 13.0, pml: null },
  cnnStep256: { torch: 185, pml: null },
  epochFashion: { torch: 28500, pml: null },
  epochMnist: { torch: 4350, pml: null },
};

/** Every row of issue 8's table, in its order. */
const TABLE_ROWS = ['ntXent256', 'ntXent1024', 'supCon1024', 'tripletBatchHard1024', 'contrastive1024', 'clip1024', 'hcl1024', 'mlpStep512', 'cnnStep256', 'matMul', 'epochFashion', 'epochMnist'];

/** `--epochs N` of `--table`: recipe epochs per dataset (the median is over all but the first). */
const TABLE_EPOCHS = args.includes('--epochs') ? args[args.indexOf('--epochs') + 1] : '11';

/**
 * A Python that imports torch (CONTRASTIVE_TORCH_PYTHON, else python3, else /usr/bin/python3, where
 * Debian's python3-torch lives), or undefined; `--no-torch` skips the torch column.
 */
function torchPython() {
  if (args.includes('--no-torch')) return undefined;
  for (const python of [process.env.CONTRASTIVE_TORCH_PYTHON, 'python3', '/usr/bin/python3']) {
    if (!python) continue;
    const probe = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
    if (probe.status === 0) return python;
  }
  return undefined;
}

/**
 * A Python that imports pytorch-metric-learning (CONTRASTIVE_PML_PYTHON, else the repository's
 * `.venv-pml`, else the torch Pythons above), or undefined; `--no-torch` skips it too. bench/README.md shows how to install PML from
 * the machine's package index into a venv that sees Debian's torch.
 */
function pmlPython() {
  if (args.includes('--no-torch')) return undefined;
  const venv = fileURLToPath(new URL('../.venv-pml/bin/python', import.meta.url));
  for (const python of [process.env.CONTRASTIVE_PML_PYTHON, existsSync(venv) ? venv : undefined, process.env.CONTRASTIVE_TORCH_PYTHON, 'python3', '/usr/bin/python3']) {
    if (!python) continue;
    const probe = spawnSync(python, ['-c', 'import torch, pytorch_metric_learning'], { stdio: 'ignore' });
    if (probe.status === 0) return python;
  }
  return undefined;
}

/** A script of bench/torch/ with `python`; its last stdout line is JSON. */
function runTorchScript(python, name, scriptArgs) {
  const script = fileURLToPath(new URL(`./torch/${name}`, import.meta.url));
  const child = spawnSync(python, [script, ...scriptArgs], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (child.status !== 0) throw new Error(`bench/torch/${name} failed with status ${child.status}`);
  const lines = child.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** `--rounds R` of `--table`: the default turns per row are R x reps (so 3 gives 30 at the default reps). */
const TABLE_ROUNDS = Number(args.includes('--rounds') ? args[args.indexOf('--rounds') + 1] : '3');
const STEP_ROWS = TABLE_ROWS.filter((key) => !key.startsWith('epoch'));
const EPOCH_ROWS = TABLE_ROWS.filter((key) => key.startsWith('epoch'));

/**
 * bench/training.mjs in a child process with its own wasm backend on 2 threads and XNNPACK's pool
 * on one (selectBackend's default, `xnnpackThreads = wasmThreads - 1`: XNNPACK's spinning worker
 * would take the core the toolkit's kernel worker needs, and the convolutions, matrix products
 * and loss rows are the toolkit's). Each row records its `xnnpackThreads`; `torch` is the torch
 * figure measured here when Python with torch is installed (`torchIssue`: the issue's), and
 * `vsTorch` ours / that figure; `pml` likewise where Python has pytorch-metric-learning
 * (`pmlIssue`, `vsPml`).
 *
 * The step and loss rows are timed in turns (`--pairs P` runs per side, default rounds x reps = 30):
 * for each row, bench/training.mjs --serve, bench/torch/table.py --serve and, on PML's rows,
 * bench/torch/pml.py --serve warm up in their own processes, then take turns run by run (the order
 * rotating, 30 ms apart so no side's spinning worker threads overlap another's run), so every side
 * meets the same moments of this VM, whose vector throughput drifts by up to 2x within minutes;
 * `pairedRatio` / `pairedRatioPml` are the medians of the per-turn ratios. matMul runs once per
 * side; the recipe epochs (minutes each) once per side, after the rest.
 */
async function torchTableBench(extra) {
  const skipEpochs = extra.includes('--skip-epochs');
  const started = Date.now();
  const script = fileURLToPath(new URL('./training.mjs', import.meta.url));
  const oursArgs = ['--threads', '2', '--reps', String(Math.max(10, REPS)), '--epochs', TABLE_EPOCHS, '--xnnpack-threads', '1'];
  const run = (more) => {
    const child = spawnSync(process.execPath, [script, ...oursArgs, ...more], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (child.status !== 0) throw new Error(`bench/training.mjs failed with status ${child.status}`);
    const lines = child.stdout.trim().split('\n');
    return JSON.parse(lines[lines.length - 1]);
  };
  const pythonArgs = ['--threads', '2', '--reps', String(Math.max(10, REPS))];
  const torchPy = torchPython();
  const pmlPy = pmlPython();
  const sides = {
    torch: { meta: undefined, error: undefined },
    pml: { meta: undefined, error: undefined },
  };
  const pairs = TABLE_PAIRS ?? TABLE_ROUNDS * Math.max(10, REPS);
  const rows = {};
  const torchRows = torchPy === undefined ? undefined : {};
  const pmlRows = pmlPy === undefined ? undefined : {};
  let oursMeta;
  for (const key of STEP_ROWS.filter((k) => k !== 'matMul')) {
    const takers = [{ name: 'ours', command: [process.execPath, script, ...oursArgs] }];
    if (torchPy !== undefined && sides.torch.error === undefined) takers.push({ name: 'torch', command: [torchPy, fileURLToPath(new URL('./torch/table.py', import.meta.url)), ...pythonArgs] });
    if (pmlPy !== undefined && sides.pml.error === undefined && PML_ROWS.has(key)) takers.push({ name: 'pml', command: [pmlPy, fileURLToPath(new URL('./torch/pml.py', import.meta.url)), ...pythonArgs] });
    const turns = await inTurns(key, pairs, takers);
    oursMeta = turns.results.ours;
    rows[key] = turns.rows.ours;
    for (const side of ['torch', 'pml']) {
      if (turns.errors[side] !== undefined) {
        sides[side].error = turns.errors[side];
        console.error(`[table] ${side} failed on ${key}, using the issue's figures: ${sides[side].error}`);
      } else if (turns.results[side] !== undefined) {
        sides[side].meta = turns.results[side];
        (side === 'torch' ? torchRows : pmlRows)[key] = turns.rows[side];
      }
    }
    if (turns.ratios.torch !== undefined) rows[key].pairedRatio = turns.ratios.torch;
    if (turns.ratios.pml !== undefined) rows[key].pairedRatioPml = turns.ratios.pml;
    rows[key].pairs = pairs;
    console.error(`[table] ${key}: ${takers.map((t) => `${t.name} ${turns.rows[t.name]?.ms ?? (turns.rows[t.name]?.oom ? 'OOM' : '-')}`).join(', ')} ms; paired ratios ${JSON.stringify(turns.ratios)} (${pairs} turns)`);
  }
  const mm = run(['--only', 'matMul']);
  rows.matMul = mm.rows.matMul;
  const table = { ...oursMeta, ...mm, rows, pairs };
  if (torchRows !== undefined && sides.torch.error === undefined) {
    try {
      torchRows.matMul = runTorchScript(torchPy, 'table.py', [...pythonArgs, '--only', 'matMul']).rows.matMul;
    } catch (error) {
      sides.torch.error = error instanceof Error ? error.message : String(error);
    }
  }
  if (!skipEpochs) {
    Object.assign(table.rows, run(['--only', EPOCH_ROWS.join(',')]).rows);
    if (torchRows !== undefined && sides.torch.error === undefined) {
      for (const [key, dataset] of [['epochFashion', 'fashion-mnist'], ['epochMnist', 'mnist']]) {
        try {
          const epochs = runTorchScript(torchPy, 'recipe_epoch.py', ['--dataset', dataset, '--epochs', TABLE_EPOCHS, '--threads', '2']);
          torchRows[key] = { ms: epochs.median_after_first_ms, min: epochs.min_after_first_ms, runs: epochs.epochs_seconds.length - 1 };
        } catch (error) {
          torchRows[key] = `failed: ${error instanceof Error ? error.message : String(error)}`;
        }
      }
    }
  }
  table.method = `step and loss rows: ${pairs} runs per side taken in turns (ours, torch and, on its rows, PML: one run each, the order rotating, each side in its own process after >= 3 warm-up runs and 1.5 s), each side's median; epochs: median of ${Number(TABLE_EPOCHS) - 1} epochs after the first; ms`;
  table.seconds = Math.round((Date.now() - started) / 1000);
  if (sides.torch.error !== undefined) table.torchHereError = sides.torch.error;
  if (sides.pml.error !== undefined) table.pmlHereError = sides.pml.error;
  const meta = (m, extraKeys) => Object.fromEntries(['torch', ...extraKeys, 'threads', 'cpu', 'date', 'method'].map((key) => [key, m[key]]));
  if (torchRows !== undefined && sides.torch.meta !== undefined) table.torchHere = meta(sides.torch.meta, []);
  if (pmlRows !== undefined && sides.pml.meta !== undefined) table.pmlHere = meta(sides.pml.meta, ['pml']);
  for (const [key, row] of Object.entries(table.rows)) {
    const measured = torchRows?.[key];
    if (typeof measured === 'string') row.torchHereError = measured;
    if (key === 'matMul' && measured !== undefined) row.torch = measured;
    const ref = TORCH[key];
    if (ref === undefined || typeof row.ms !== 'number') continue;
    const torch = typeof measured?.ms === 'number' ? measured.ms : undefined;
    row.torch = torch ?? ref.torch;
    if (torch !== undefined) {
      row.torchMin = measured.min;
      if (measured.times !== undefined) row.torchTimes = measured.times;
    }
    row.torchIssue = ref.torch;
    const pmlRow = pmlRows?.[key];
    row.pml = pmlRow === undefined ? ref.pml : typeof pmlRow.ms === 'number' ? pmlRow.ms : pmlRow.oom !== undefined ? 'OOM' : ref.pml;
    if (pmlRow !== undefined) row.pmlHere = pmlRow;
    row.pmlIssue = ref.pml;
    if (typeof row.pml === 'number') row.vsPml = Number((row.ms / row.pml).toPrecision(2));
    row.vsTorch = Math.round((row.ms / row.torch) * 100) / 100;
  }
  return table;
}

/** `--pairs P` of `--table`: runs per side of each paired row (default rounds x reps). */
const TABLE_PAIRS = args.includes('--pairs') ? Number(args[args.indexOf('--pairs') + 1]) : undefined;

/** Milliseconds between two paired runs: longer than either side's worker threads spin after a run (ours 2 ms, libgomp's ~15 ms). */
const PAIR_GAP_MS = 30;

/**
 * A child process of `--serve` (bench/training.mjs, bench/torch/table.py or bench/torch/pml.py): `next()` resolves to
 * its next `@` line on stdout (rejects if it exits first); every other line is kept in `other`.
 */
function served(command) {
  const child = spawn(command[0], command.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const queue = [];
  const waiters = [];
  const other = [];
  let exited = null;
  const fail = () => new Error(`${command[1]} exited with ${exited}`);
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('@')) other.push(line);
    else if (waiters.length > 0) waiters.shift().resolve(line);
    else queue.push(line);
  });
  const exit = new Promise((resolve) => child.on('close', (code) => {
    exited = code;
    for (const waiter of waiters.splice(0)) waiter.reject(fail());
    resolve(code);
  }));
  const next = () => {
    if (queue.length > 0) return Promise.resolve(queue.shift());
    if (exited !== null) return Promise.reject(fail());
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  };
  return {
    next,
    /** true at `@ready`; false when the process ended without one (exit 0: a row it could not time). */
    async ready() {
      let line;
      try {
        line = await next();
      } catch (error) {
        if (exited === 0) return false;
        throw error;
      }
      if (line !== '@ready') throw new Error(`${command[1]}: expected @ready, got ${line}`);
      return true;
    },
    async run() {
      child.stdin.write('run\n');
      const line = await next();
      if (!line.startsWith('@ms ')) throw new Error(`${command[1]}: expected @ms, got ${line}`);
      return Number(line.slice(4));
    },
    async finish() {
      if (exited === null) child.stdin.end('done\n');
      const code = await exit;
      if (code !== 0) throw fail();
      return JSON.parse(other[other.length - 1]);
    },
    kill: () => child.kill(),
  };
}

/** The rows bench/torch/pml.py has (PML's documented losses): timed in turns with ours and torch's. */
const PML_ROWS = new Set(['ntXent256', 'ntXent1024', 'supCon1024', 'tripletBatchHard1024', 'contrastive1024']);

/**
 * One step or loss row timed `turns` times per side, the sides (`--serve` processes: ours first, then
 * bench/torch/table.py, then bench/torch/pml.py) one run each in turn: each side warms up in its own
 * process first, one after the other, then the runs rotate (the side going first rotating too), with
 * {@link PAIR_GAP_MS} before each run. A side whose process ends before its warm-up is done (PML's
 * out-of-memory row) gives its printed row instead; a side that fails is left out (`errors`).
 * `ratios`: the median over the turns of ours / each other side.
 */
async function inTurns(key, turns, takers) {
  const live = [];
  const results = {};
  const rows = {};
  const errors = {};
  try {
    for (const taker of takers) {
      const process_ = served([...taker.command, '--serve', '--only', key]);
      try {
        if (await process_.ready()) live.push({ ...taker, process: process_, times: [] });
        else {
          results[taker.name] = await process_.finish();
          rows[taker.name] = results[taker.name].rows[key];
        }
      } catch (error) {
        if (taker.name === 'ours') throw error;
        process_.kill();
        errors[taker.name] = error instanceof Error ? error.message : String(error);
      }
    }
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    for (let i = 0; i < turns; i++) {
      for (let j = 0; j < live.length; j++) {
        const side = live[(i + j) % live.length];
        await sleep(PAIR_GAP_MS);
        side.times.push(await side.process.run());
      }
    }
    for (const side of live) {
      results[side.name] = await side.process.finish();
      rows[side.name] = results[side.name].rows[key];
    }
  } catch (error) {
    for (const side of live) side.process.kill();
    throw error;
  }
  const ours = live.find((side) => side.name === 'ours');
  const ratios = {};
  for (const side of live) {
    if (side === ours) continue;
    ratios[side.name] = Number(median(ours.times.map((t, i) => t / (side.times[i] ?? Number.NaN))).toFixed(3));
  }
  return { results, rows, errors, ratios };
}

/**
 * Every table run, newest last (at most 50): when, where, which commit, and each row's figures and
 * ratios (`torchTableRuns` of bench/results.json). One table is one sample of this VM's drifting
 * throughput; the runs show the spread.
 */
function withRun(previous, table) {
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', cwd: fileURLToPath(new URL('..', import.meta.url)) });
  const rows = Object.fromEntries(
    Object.entries(table.rows)
      .filter(([, row]) => typeof row?.ms === 'number')
      .map(([key, row]) => [key, Object.fromEntries(['ms', 'roundMedians', 'torch', 'torchRoundMedians', 'pairedRatio', 'pml', 'pairedRatioPml', 'vsTorch', 'vsPml'].filter((k) => row[k] !== undefined).map((k) => [k, row[k]]))]),
  );
  const run = { date: table.date, finished: new Date().toISOString(), commit: git.status === 0 ? git.stdout.trim() : null, machine: table.machine?.model, pairs: table.pairs, fma: table.fma, rows };
  return [...(previous.torchTableRuns ?? []), run].slice(-50);
}

/**
 * The newest table of each machine model (the figures are only comparable within one machine):
 * `torchTablesByMachine` of bench/results.json, keyed by `machine.model`.
 */
function byMachine(previous, table) {
  const tables = { ...(previous.torchTablesByMachine ?? {}) };
  if (previous.torchTable?.machine?.model !== undefined) tables[previous.torchTable.machine.model] ??= previous.torchTable;
  tables[table.machine?.model ?? 'unknown'] = table;
  return tables;
}

function printTorchTable(table) {
  const where = table.torchHere === undefined ? "the issue's figures (AMD Zen 5)" : `torch ${table.torchHere.torch} measured here (${table.torchHere.cpu})`;
  const wherePml = table.pmlHere === undefined ? "the issue's figures (AMD Zen 5)" : `PML ${table.pmlHere.pml} measured here`;
  console.log(`\nissue 8 table: ${table.backend}${table.threads ? ` (${table.threads} threads)` : ''} on ${table.machine?.model ?? 'this machine'}, ${table.method}; torch: ${where}; PML: ${wherePml}`);
  const cell = (value, width) => String(value ?? '-').padStart(width);
  console.log(`${'workload'.padEnd(74)} ${cell('ours', 9)} ${cell('torch', 8)} ${cell('x torch', 8)} ${cell('PML', 8)} ${cell('x PML', 6)} ${cell('issue', 7)} ${cell('PML iss.', 8)}`);
  for (const row of Object.values(table.rows)) {
    if (row.gflops !== undefined || row['1024x1024x1024'] !== undefined) continue;
    const ours = typeof row.ms === 'number' ? row.ms.toFixed(1) : String(row);
    console.log(
      `${row.what.padEnd(74)} ${cell(ours, 9)} ${cell(row.torch, 8)} ${cell(row.vsTorch, 8)} ${cell(row.pml, 8)} ${cell(row.vsPml, 6)} ${cell(row.torchIssue, 7)} ${cell(row.pmlIssue, 8)}`,
    );
  }
  const mm = table.rows.matMul;
  const shapes = (m) => Object.entries(m).filter(([k]) => /^\d+x\d+x\d+$/.test(k)).map(([k, v]) => `${k} ${v.ms} ms = ${v.gflops} GFLOP/s`).join('; ');
  if (mm !== undefined) console.log(`matMul: ${shapes(mm)}${mm.torch === undefined ? '' : ` (torch: ${shapes(mm.torch)})`}`);
}

if (tableOnly) {
  const out = fileURLToPath(new URL('./results.json', import.meta.url));
  const previous = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
  const torchTable = await torchTableBench(args.includes('--skip-epochs') ? ['--skip-epochs'] : []);
  const kept = args.includes('--skip-epochs') && previous.torchTable !== undefined
    ? Object.fromEntries(Object.entries(previous.torchTable.rows).filter(([key]) => key.startsWith('epoch')))
    : {};
  const runs = withRun(previous, torchTable); // this run's rows only (not the epochs kept from an earlier one)
  torchTable.rows = { ...torchTable.rows, ...kept };
  writeFileSync(out, `${JSON.stringify({ ...previous, torchTable, torchTablesByMachine: byMachine(previous, torchTable), torchTableRuns: runs }, null, 2)}\n`);
  printTorchTable(torchTable);
  console.log(`merged torchTable into ${out}`);
  process.exit(0);
}

if (retrievalOnly) {
  const out = fileURLToPath(new URL('./results.json', import.meta.url));
  const previous = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
  const retrievalScale = retrievalScaleBench();
  writeFileSync(out, `${JSON.stringify({ ...previous, retrievalScale }, null, 2)}\n`);
  console.log(`merged retrievalScale (${retrievalScale.n} x ${retrievalScale.d}: ${retrievalScale.seconds} s, peak RSS ${retrievalScale.peakRssMB} MB) into ${out}`);
  process.exit(0);
}

if (augmentOnly) {
  const out = fileURLToPath(new URL('./results.json', import.meta.url));
  const previous = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
  const augment = augmentBench();
  writeFileSync(out, `${JSON.stringify({ ...previous, augment }, null, 2)}\n`);
  console.log(`merged augment (SimCLR two views of 256 digits: ${augment.twoViewsMs['simclr@small 256x28x28x1']} ms) into ${out}`);
  process.exit(0);
}

if (kMeansOnly) {
  const out = fileURLToPath(new URL('./results.json', import.meta.url));
  const previous = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
  const kMeans = kMeansBench();
  writeFileSync(out, `${JSON.stringify({ ...previous, kMeans }, null, 2)}\n`);
  console.log(`merged kMeans (${kMeans.totalSeconds} s) into ${out}`);
  process.exit(0);
}

if (lossesOnly) {
  await tf.setBackend('wasm');
  await tf.ready();
  core.registerWasmKernels();
  await tf.setBackend('wasm');
  warmUp(3000);
  const family = await infoNceFamily();
  const out = fileURLToPath(new URL('./results.json', import.meta.url));
  const previous = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
  writeFileSync(out, `${JSON.stringify({ ...previous, infoNceFamily: family }, null, 2)}\n`);
  printInfoNceFamily(family);
  console.log(`merged infoNceFamily into ${out}`);
  process.exit(0);
}

// ---------------------------------------------------------------- run

const started = Date.now();
const results = {
  backend: 'wasm',
  node: process.version,
  date: new Date().toISOString(),
  tfjs: tf.version_core,
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', loadavg: os.loadavg().map((v) => Math.round(v * 100) / 100) },
  method: `median of ${REPS} runs after ${WARMUP} warm-up runs, ms; wasm warmed up for 5 s first`,
  models: sources,
  matMul: {},
  kernels: {},
  steps: {},
};

console.log(`[bench] node ${process.version}, tfjs ${tf.version_core}, ${REPS} reps; models: ${Object.values(sources).join(', ')}`);

// 1. wasm as shipped (before registerWasmKernels).
await tf.setBackend('wasm');
await tf.ready();
warmUp(5000);
const withoutKernels = { matMul: {}, kernels: {}, steps: {} };
for (const shape of MATMUL_SHAPES) withoutKernels.matMul[shape.join('x')] = await matMulForms(shape, quick ? 2 : 3);
withoutKernels.kernels = await kernelTimes(quick ? 2 : 3);
withoutKernels.steps.mlp = await trainStep(mlpModel, [784], quick ? 2 : 3);
withoutKernels.steps.cnn = await trainStep(cnnModel, [28, 28, 1], 1);

// 2. wasm with the toolkit's kernels.
core.registerWasmKernels();
await tf.setBackend('wasm');
const withKernels = { matMul: {}, kernels: {}, steps: {} };
for (const shape of MATMUL_SHAPES) withKernels.matMul[shape.join('x')] = await matMulForms(shape, REPS);
withKernels.kernels = await kernelTimes(REPS);
withKernels.steps.mlp = await trainStep(mlpModel, [784], REPS);
withKernels.steps.cnn = await trainStep(cnnModel, [28, 28, 1], REPS);
results.infoNceFamily = await infoNceFamily();

// 3. cpu, matMul only (the plain-JS backend; 1024^3 skipped: seconds per run).
await tf.setBackend('cpu');
const cpu = { matMul: {} };
for (const shape of MATMUL_SHAPES) {
  if (shape[0] * shape[1] * shape[2] > 2 ** 28) continue;
  cpu.matMul[shape.join('x')] = await matMulForms(shape, 3);
}

for (const shape of MATMUL_SHAPES) {
  const key = shape.join('x');
  results.matMul[key] = { wasm: withKernels.matMul[key], wasmWithoutKernels: withoutKernels.matMul[key], cpu: cpu.matMul[key] ?? null };
}
for (const name of Object.keys(KERNELS)) {
  results.kernels[name] = { wasm: withKernels.kernels[name], wasmWithoutKernels: withoutKernels.kernels[name] };
}
for (const name of ['mlp', 'cnn']) {
  results.steps[name] = { wasm: withKernels.steps[name], wasmWithoutKernels: withoutKernels.steps[name] };
}
results.steps.mlp.description = '784-256-128 encoder, NT-Xent (τ 0.5), 512 views (256 pairs), Adam';
results.steps.cnn.description =
  'conv3x3-32 relu, maxpool2, conv3x3-64 relu, maxpool2, flatten, dense-128 relu + head 128-128-64, NT-Xent (τ 0.5), 512 views (256 pairs), Adam';
results.kMeans = kMeansBench();
results.augment = augmentBench();
results.torchTable = await torchTableBench([]);
{
  // An hour of two cores: measured by --retrieval, kept across full runs; other machines' tables too.
  const previousFile = fileURLToPath(new URL('./results.json', import.meta.url));
  const previous = existsSync(previousFile) ? JSON.parse(readFileSync(previousFile, 'utf8')) : {};
  if (previous.retrievalScale !== undefined) results.retrievalScale = previous.retrievalScale;
  results.torchTablesByMachine = byMachine(previous, results.torchTable);
  results.torchTableRuns = withRun(previous, results.torchTable);
}
results.totalSeconds = Math.round((Date.now() - started) / 1000);

const out = fileURLToPath(new URL('./results.json', import.meta.url));
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);

// ---------------------------------------------------------------- table

const rows = [];
for (const [shape, forms] of Object.entries(results.matMul)) {
  for (const form of Object.keys(FORMS)) {
    rows.push([`matMul ${shape} ${form}`, forms.wasm[form], forms.wasmWithoutKernels[form], forms.cpu?.[form]]);
  }
}
for (const [name, times] of Object.entries(results.kernels)) rows.push([name, times.wasm, times.wasmWithoutKernels, null]);
for (const [name, times] of Object.entries(results.steps)) rows.push([`${name} training step`, times.wasm, times.wasmWithoutKernels, null]);
const width = Math.max(...rows.map((row) => row[0].length));
console.log(`\n${'ms (median)'.padEnd(width)}  ${'wasm'.padStart(9)}  ${'wasm, raw'.padStart(9)}  ${'cpu'.padStart(9)}`);
for (const [name, wasm, raw, cpuTime] of rows) {
  console.log(`${name.padEnd(width)}  ${cell(wasm).padStart(9)}  ${cell(raw).padStart(9)}  ${cell(cpuTime).padStart(9)}`);
}
console.log(`\n'wasm' = with registerWasmKernels(); 'wasm, raw' = @tensorflow/tfjs-backend-wasm as shipped ('throws' = missing kernel).`);
printInfoNceFamily(results.infoNceFamily);
const km = results.kMeans;
console.log(
  `\nkMeans ${km.data.n}x${km.data.d} -> k=${km.options.k} (${km.backend}): ${km.totalSeconds} s ` +
    `(init ${km.initSeconds} s, ${km.perIterationSeconds} s/iteration x ${km.iterations}); target < 60 s`,
);
console.log(`two views (wasm, ms, median): ${Object.entries(results.augment.twoViewsMs).map(([k, v]) => `${k} ${v}`).join('; ')}`);
console.log(`previews: ${results.augment.previews.join(', ')}`);
if (results.retrievalScale !== undefined) {
  const r = results.retrievalScale;
  console.log(
    `exact self-retrieval P@1 + MAP@R ${r.n}x${r.d} (${r.backend}, ${r.threads} threads): ${r.seconds} s, ` +
      `peak RSS ${r.peakRssMB} MB, peak V8 heap ${r.peakHeapUsedMB} MB (from --retrieval)`,
  );
}
printTorchTable(results.torchTable);
console.log(`wrote ${out} (${results.totalSeconds} s)`);
