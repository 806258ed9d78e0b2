#!/usr/bin/env node
/**
 * View generation speed and previews of @contrastive/augment, on the wasm backend:
 *
 * - the two views of every preset (`viewPreset('simclr' | 'mocoV2' | 'byol', { size: [28, 28] })`)
 *   and of the reference recipe (`viewGenerator({ augmentation: recipeAugmentation() })`) for a
 *   batch of 256 embedded MNIST digits `[256, 28, 28, 1]` — the issue-5 target is the SimCLR preset
 *   under 30 ms — and the SimCLR preset on `[256, 32, 32, 3]` colour noise;
 * - a PNG preview per preset (8 digits x 2 views; the ImageNet parameters on digits upscaled to
 *   96x96) written to bench/previews/<preset>.png, whose paths are printed.
 *
 * Run after a build: `node bench/augment.mjs [--reps 15]`. Prints one JSON line on stdout (the
 * figures) and the preview paths on stderr. Timing: median wall time of `reps` runs after at least
 * 1 s (and 5 runs) of warm-up per pipeline and a 3 s matMul warm-up (V8 compiles wasm in the
 * background).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import * as core from '@contrastive/core';
import * as augment from '@contrastive/augment';
import { loadMnist } from '@contrastive/data';

const args = process.argv.slice(2);
const repsIndex = args.indexOf('--reps');
const REPS = repsIndex >= 0 ? Number(args[repsIndex + 1]) : 15;

await core.selectBackend({ preference: 'wasm', log: false });

function warmUp(ms) {
  const a = tf.randomNormal([256, 256]);
  const start = performance.now();
  while (performance.now() - start < ms) tf.dispose(tf.matMul(a, a));
  a.dispose();
}

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Median ms of `generate(images, rng)` (including the read that forces the wasm work to finish). */
function time(generate, images) {
  const rng = new core.Rng(0);
  // Warm up each pipeline for at least a second (5 runs or more): its host loops and the kernels it
  // calls tier up in V8 on first use.
  const warmStart = performance.now();
  for (let i = 0; i < 5 || performance.now() - warmStart < 1000; i++) tf.dispose(generate(images, rng));
  const times = [];
  for (let i = 0; i < REPS; i++) {
    const start = performance.now();
    const out = generate(images, rng);
    out.dataSync();
    times.push(performance.now() - start);
    out.dispose();
  }
  return Math.round(median(times) * 100) / 100;
}

warmUp(3000);
const { train } = await loadMnist({ trainLimit: 256 });
const digits = tf.tensor4d(train.images, [train.count, 28, 28, 1]);
const colour = tf.tensor4d(new core.Rng(1).uniformArray(256 * 32 * 32 * 3), [256, 32, 32, 3]);

const twoViewsMs = {};
for (const name of ['simclr', 'mocoV2', 'byol']) {
  const preset = augment.viewPreset(name, { size: [28, 28] });
  twoViewsMs[`${name}@small 256x28x28x1`] = time((x, rng) => preset.generate(x, rng), digits);
}
const recipe = augment.viewGenerator({ augmentation: augment.recipeAugmentation() });
twoViewsMs['recipe 256x28x28x1'] = time((x, rng) => recipe.generate(x, rng), digits);
const simclrColour = augment.viewPreset('simclr', { size: [32, 32] });
twoViewsMs['simclr@small 256x32x32x3'] = time((x, rng) => simclrColour.generate(x, rng), colour);

// Previews: 8 digits, their two views side by side; ImageNet parameters on 96x96 upscaled digits.
const previewDir = fileURLToPath(new URL('./previews/', import.meta.url));
mkdirSync(previewDir, { recursive: true });
const sample = tf.slice(digits, [0, 0, 0, 0], [8, 28, 28, 1]);
const large = tf.image.resizeBilinear(sample, [96, 96]);
const previews = [];
for (const name of ['simclr', 'mocoV2', 'byol']) {
  for (const [images, size, scale] of [[sample, [28, 28], 3], [large, [96, 96], 1]]) {
    const preset = augment.viewPreset(name, { size });
    const views = preset.generate(images, new core.Rng(7));
    const first = tf.slice(views, [0, 0, 0, 0], [8, size[0], size[1], 1]);
    const second = tf.slice(views, [8, 0, 0, 0], [8, size[0], size[1], 1]);
    const png = augment.renderGrid([images, first, second], { scale, padding: 2 });
    const file = `${previewDir}${preset.name}.png`;
    writeFileSync(file, png);
    previews.push(file);
    tf.dispose([views, first, second]);
  }
}
tf.dispose([digits, colour, sample, large]);

const report = {
  bench: 'augment',
  backend: tf.getBackend(),
  node: process.version,
  tfjs: tf.version_core,
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', loadavg: os.loadavg().map((v) => Math.round(v * 100) / 100) },
  method: `median of ${REPS} runs after >= 1 s of warm-up per pipeline, ms, both views of the batch`,
  twoViewsMs,
  simclrUnder30Ms: twoViewsMs['simclr@small 256x28x28x1'] < 30,
  previews: previews.map((file) => file.slice(file.indexOf('bench/'))),
};
for (const file of previews) console.error(`[augment] preview: ${file}`);
console.log(JSON.stringify(report));
