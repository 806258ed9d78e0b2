#!/usr/bin/env node
/**
 * Issue 8's table: every workload of the hand-written-torch comparison, at the same shapes, on the
 * backend `selectBackend` picks (tfjs-node when installed, else wasm with `--threads` XNNPACK
 * threads and the toolkit's kernels). Prints one JSON line (bench/run.mjs merges it into
 * bench/results.json as `torchTable`).
 *
 *   node bench/training.mjs [--threads 2] [--xnnpack-threads 1] [--fma on|off|auto] [--reps 10] [--epochs 11] [--skip-epochs] [--only a,b] [--serve]
 *
 * `--fma` (default on): the toolkit's wasm kernels in their fused multiply-add (relaxed SIMD) build,
 * turned on behind Node.js 20's V8 flag by `selectBackend({ fma: true })`; the JSON says whether it ran.
 *
 * Every figure is the median wall time (ms) of `--reps` runs after at least 3 warm-up runs and 1.5 s; losses are
 * forward + backward (`tf.valueAndGrad` w.r.t. the embeddings, the gradient read back), steps are
 * one Adam step (`optimizer.minimize`, the loss read back). Epochs run the `contrastive` CLI's
 * `simclr` recipe (RECIPE.md: CNN, batch 256, the recipe's augmentation) for `--epochs` epochs and
 * report the median epoch of all but the first.
 *
 * `--serve` (one step or loss row): the runs after the warm-up are driven from stdin (see `served`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import * as core from '@contrastive/core';
import * as losses from '@contrastive/losses';
import { batchHardMiner } from '@contrastive/samplers';
import { cnnModel, mlpModel } from './models.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const THREADS = Number(flag('--threads', '2'));
const REPS = Number(flag('--reps', '10'));
const EPOCHS = Number(flag('--epochs', '11'));
const ONLY = flag('--only', '')?.split(',').filter(Boolean) ?? [];
const WARMUP = 3;
const SERVE = args.includes('--serve');

const XNNPACK = flag('--xnnpack-threads', undefined) === undefined ? undefined : Number(flag('--xnnpack-threads', undefined));
const FMA = flag('--fma', 'on');
if (!['on', 'off', 'auto'].includes(FMA)) throw new Error(`--fma must be on, off or auto, got ${FMA}`);

const selection = await core.selectBackend({
  log: false,
  fma: FMA === 'on' ? true : FMA === 'off' ? false : 'auto',
  ...(THREADS > 1 ? { wasmThreads: THREADS } : {}),
  ...(XNNPACK !== undefined && THREADS > 1 ? { xnnpackThreads: XNNPACK } : {}),
});

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
const round = (ms) => Math.round(ms * 10) / 10;

function time(run) {
  // At least WARMUP runs and at least 1.5 s: V8 compiles WebAssembly (tfjs's and the toolkit's
  // kernels) to optimised code in the background during the first seconds of use, so the first
  // rows of a process would otherwise time the baseline tier.
  const warmUntil = performance.now() + 1500;
  for (let i = 0; i < WARMUP || performance.now() < warmUntil; i++) run();
  if (SERVE) return served(run);
  const times = [];
  for (let i = 0; i < REPS; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  return { ms: round(median(times)), min: round(Math.min(...times)), runs: REPS, times: times.map((t) => Math.round(t * 100) / 100) };
}

/**
 * `--serve`: after the warm-up, one timed run per `run` line read from stdin, its wall time written
 * to stdout as `@ms <ms>`, until a `done` line (bench/run.mjs --table pairs these runs with
 * bench/torch/table.py --serve, run by run, so both sides meet the same moments of this VM).
 */
function served(run) {
  const times = [];
  process.stdout.write('@ready\n');
  for (let line = readLine(); line !== 'done'; line = readLine()) {
    if (line !== 'run') throw new Error(`--serve: expected 'run' or 'done', got '${line}'`);
    const start = performance.now();
    run();
    const ms = performance.now() - start;
    times.push(ms);
    process.stdout.write(`@ms ${ms}\n`);
  }
  return { ms: round(median(times)), min: round(Math.min(...times)), runs: times.length, times: times.map((t) => Math.round(t * 100) / 100) };
}

/** One line of stdin (blocking), without its newline; 'done' at the end of input. */
function readLine() {
  const byte = Buffer.alloc(1);
  let line = '';
  for (;;) {
    let read;
    try {
      read = readSync(0, byte, 0, 1, null);
    } catch (error) {
      if (error.code === 'EAGAIN') continue;
      throw error;
    }
    if (read === 0) return line === '' ? 'done' : line;
    const c = byte.toString('utf8');
    if (c === '\n') return line;
    line += c;
  }
}

/** Forward + backward of `loss` at `embeddings` (and `ref` for CLIP), mining inside the timing. */
function lossRow({ loss, n, labels, ref, miner }) {
  const x = tf.randomNormal([n, 128], 0, 1, 'float32', 7);
  const refX = ref === undefined ? undefined : tf.randomNormal([n, 128], 0, 1, 'float32', 8);
  try {
    return time(() => {
      const tuples = miner?.mine({ embeddings: x, labels });
      const input = (e) => ({ embeddings: e, ...(labels === undefined ? {} : { labels }), ...(tuples === undefined ? {} : { tuples }), ...(refX === undefined ? {} : { ref: { embeddings: refX, labels } }) });
      const { value, grad } = tf.valueAndGrad((e) => loss.compute(input(e)))(x);
      // Wait for the gradient without copying it out (as torch's backward leaves it in place): a
      // dataSync of the [n, 128] gradient is a fresh host array, ~5 ms of page faults at n = 1024 here.
      const done = tf.sum(grad);
      done.dataSync();
      tf.dispose([value, grad, done]);
      if (tuples !== undefined) tf.dispose(Object.values(tuples).filter((t) => t instanceof tf.Tensor));
    });
  } finally {
    tf.dispose([x, refX, labels]);
    loss.dispose?.();
  }
}

/** One Adam step of an encoder + NT-Xent (τ 0.5) on a fixed batch of `views` views. */
function stepRow(makeModel, inputShape, views) {
  const x = tf.randomUniform([views, ...inputShape], 0, 1, 'float32', 3);
  const model = makeModel();
  const loss = losses.ntXentLoss({ temperature: 0.5 });
  const labels = core.viewLabels(views / 2);
  const optimizer = core.adam(1e-3); // tf.train.adam's results; its step fused on wasm
  try {
    return time(() => {
      const value = optimizer.minimize(() => loss.compute({ embeddings: model.apply(x), labels }), true, model.variables);
      value.dataSync();
      value.dispose();
    });
  } finally {
    optimizer.dispose();
    tf.dispose([x, labels]);
    model.dispose();
  }
}

/** matMul 1024^3 and 2048x2048x128 (a loss's similarity) in GFLOP/s. */
function matMulRow() {
  const out = {};
  for (const [m, k, n] of [[1024, 1024, 1024], [2048, 128, 2048]]) {
    const a = tf.randomNormal([m, k]);
    const b = tf.randomNormal([k, n]);
    const { ms, times } = time(() => tf.matMul(a, b).dispose());
    out[`${m}x${k}x${n}`] = { ms, gflops: round((2 * m * k * n) / (ms * 1e6)), times };
    tf.dispose([a, b]);
  }
  return out;
}

/** The CLI's simclr recipe for EPOCHS epochs on `dataset`: median seconds of the epochs after the first. */
function epochRow(dataset) {
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-epoch-'));
  const bin = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));
  try {
    const child = spawnSync(
      process.execPath,
      [bin, 'train', '--recipe', 'simclr', '--dataset', dataset, '--epochs', String(EPOCHS), '--threads', String(THREADS), '--fma', FMA, '--probe', 'adam',
        '--no-baselines', '--test-limit', '200', '--out', dir, '--name', 'bench'],
      { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] },
    );
    if (child.status !== 0) return `failed (exit ${child.status}): ${child.stderr.trim().split('\n').slice(-3).join(' ')}`;
    const report = JSON.parse(readFileSync(join(dir, 'bench', 'report.json'), 'utf8'));
    const seconds = report.epochs.map((e) => e.seconds);
    const timed = seconds.slice(1);
    return { ms: Math.round(median(timed) * 1000), min: Math.round(Math.min(...timed) * 1000), runs: timed.length, steps: report.steps_per_epoch ?? null, fma: report.fma ?? null };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ROWS = {
  ntXent256: { what: 'NT-Xent, N=256 pairs (512 x 128), τ 0.1', run: () => lossRow({ loss: losses.ntXentLoss({ temperature: 0.1 }), n: 512, labels: core.viewLabels(256) }) },
  ntXent1024: { what: 'NT-Xent, N=1024 pairs (2048 x 128)', run: () => lossRow({ loss: losses.ntXentLoss({ temperature: 0.1 }), n: 2048, labels: core.viewLabels(1024) }) },
  supCon1024: { what: 'SupCon, N=1024 (1024 x 128, 512 pairs of views)', run: () => lossRow({ loss: losses.supConLoss({ temperature: 0.1 }), n: 1024, labels: core.viewLabels(512) }) },
  tripletBatchHard1024: {
    what: 'triplet with batch-hard mining, N=1024 (margin 0.2, mining timed)',
    run: () => lossRow({ loss: losses.tripletMarginLoss({ margin: 0.2 }), n: 1024, labels: core.viewLabels(512), miner: batchHardMiner() }),
  },
  contrastive1024: { what: 'contrastive, all pairs, N=1024', run: () => lossRow({ loss: losses.contrastiveLoss(), n: 1024, labels: core.viewLabels(512) }) },
  clip1024: { what: 'CLIP/InfoNCE, N=1024 pairs (1024 x 128 each side)', run: () => lossRow({ loss: losses.clipLoss({ temperature: 0.07 }), n: 1024, labels: tf.range(0, 1024, 1, 'int32'), ref: true }) },
  hcl1024: {
    what: 'hard-negative (HCL, β 1, τ+ 0.1), N=1024 pairs (2048 x 128)',
    run: () => lossRow({ loss: losses.hardNegativeLoss({ temperature: 0.5, beta: 1, tauPlus: 0.1 }), n: 2048, labels: core.viewLabels(1024) }),
  },
  mlpStep512: { what: 'MLP 784-256-128 + NT-Xent + Adam step, batch 512', run: () => stepRow(mlpModel, [784], 512) },
  cnnStep256: { what: 'CNN (conv 32-64, 28x28) + head + NT-Xent step, batch 256 (512 views)', run: () => stepRow(cnnModel, [28, 28, 1], 512) },
  matMul: { what: 'matMul GFLOP/s', run: matMulRow },
  epochFashion: { what: 'SimCLR recipe epoch, fashion-mnist (234 steps, augmentation included)', epoch: 'fashion-mnist' },
  epochMnist: { what: 'SimCLR recipe epoch, embedded mnist (31 steps)', epoch: 'mnist' },
};

const started = Date.now();
const rows = {};
for (const [key, row] of Object.entries(ROWS)) {
  if (ONLY.length > 0 && !ONLY.includes(key)) continue;
  if (row.epoch !== undefined) {
    if (args.includes('--skip-epochs')) continue;
    rows[key] = { what: row.what, ...epochRow(row.epoch) };
  } else {
    rows[key] = { what: row.what, ...row.run(), ...(XNNPACK === undefined ? {} : { xnnpackThreads: XNNPACK }) };
  }
  console.error(`[training] ${key}: ${JSON.stringify(rows[key])}`);
}
const wasm = selection.name === 'wasm' ? await import('@tensorflow/tfjs-backend-wasm') : undefined;
console.log(
  JSON.stringify({
    backend: selection.name,
    // wasm threads asked for (XNNPACK's pool plus the toolkit's kernel worker), and XNNPACK's share.
    threads: selection.name === 'wasm' ? THREADS : null,
    xnnpackThreads: wasm?.getThreadsCount?.() ?? null,
    // The toolkit's kernels as fused multiply-adds (relaxed SIMD); the epochs' CLI runs say so in their reports.
    fma: selection.fma,
    node: process.version,
    tfjs: tf.version_core,
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', loadavg: os.loadavg().map((v) => Math.round(v * 100) / 100) },
    method: `median of ${REPS} runs after >= ${WARMUP} warm-up runs and 1.5 s (epochs: median of ${EPOCHS - 1} epochs after the first), ms`,
    rows,
    seconds: Math.round((Date.now() - started) / 1000),
  }),
);
