import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, convEncoder, disposeTrainState, projectionHead, train } from '@contrastive/core';
import type { Batch, BatchSource } from '@contrastive/core';
import { loadCheckpoint } from '@contrastive/core/node';
import { useTestBackend } from '@contrastive/core/testing';
import { compose, recipeAugmentation } from '@contrastive/augment';
import type { Augmentation } from '@contrastive/augment';
import { loadMnist, toTensors } from '@contrastive/data';
import type { ImageDataset, ImageSplit } from '@contrastive/data';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createProgress } from '../progress.js';
import { LoocBatches, loocLoss, loocRecipe, loocStages, mirrorsCrops } from './looc.js';
import type { RecipeContext } from './recipe.js';
import { runRecipe } from './run-recipe.js';
import type { RecipeSettings } from './run-recipe.js';

/** float32 device math against a float64 host reference of a loss of magnitude ~10. */
const LOSS_ATOL = 5e-5;
/** Temperature of the step test. */
const TAU = 0.05;

let out: string;
let dataset: ImageDataset;
let small: ImageDataset;
const progress = createProgress({ quiet: true });

beforeAll(async () => {
  await useTestBackend();
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  out = await mkdtemp(join(tmpdir(), 'contrastive-looc-'));
  const digits = await loadMnist({ trainLimit: 256 });
  dataset = { ...digits, test: everyKth(digits.test, 4) };
  const limited = await loadMnist({ trainLimit: 128 });
  small = { ...limited, test: everyKth(limited.test, 10) };
});

afterAll(async () => {
  vi.restoreAllMocks();
  await rm(out, { recursive: true, force: true });
});

function settings(data: ImageDataset, name: string, extra: Partial<RecipeSettings> = {}): RecipeSettings {
  return {
    dataset: data,
    flip: false,
    epochs: 1,
    batchSize: 64,
    seed: 0,
    learningRate: 1e-3,
    options: {},
    probe: 'adam',
    baselines: false,
    runDir: join(out, name),
    resume: false,
    progress,
    ...extra,
  };
}

/** Every `k`-th image of a split (a small test split keeps the resume runs' evaluation cheap). */
function everyKth(split: ImageSplit, k: number): ImageSplit {
  const size = split.shape[0] * split.shape[1] * split.shape[2];
  const count = Math.ceil(split.count / k);
  const images = new Float32Array(count * size);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    images.set(split.images.subarray(i * k * size, (i * k + 1) * size), i * size);
    labels[i] = split.labels[i * k] as number;
  }
  return { images, labels, count, shape: split.shape };
}

/** `[n, 8, 8, 1]` images in [0, 1] whose rows are not mirror-symmetric. */
function asymmetricImages(n: number): tf.Tensor4D {
  const values = new Float32Array(n * 64);
  for (let i = 0; i < n; i++) for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) values[i * 64 + y * 8 + x] = ((x + 1) * (i + 2)) / (9 * (n + 2)) + y / 64;
  return tf.tensor4d(values, [n, 8, 8, 1]);
}

/** Rows `[start, start + count)` of a `[rows, d]` host matrix. */
function rowsOf(matrix: number[][], start: number, count: number): number[][] {
  return matrix.slice(start, start + count);
}

describe('looc recipe: a short run', () => {
  it('trains one epoch on 256 digits (500 test queries): finite loss, kNN on h well above chance, no leaked tensor', async () => {
    const before = tf.memory().numTensors;
    const outcome = await runRecipe(loocRecipe, settings(dataset, 'short'));
    expect(tf.memory().numTensors).toBe(before);
    expect(outcome.options.temperature).toBe(0.2);
    expect(outcome.epochs).toHaveLength(1);
    const loss = outcome.epochs[0]!.meanLoss;
    expect(Number.isFinite(loss)).toBe(true);
    // Three spaces; each term lies in (0, log(1 + keys)) at random init, far below 3 log(192).
    expect(loss).toBeGreaterThan(0);
    expect(loss).toBeLessThan(3 * Math.log(192));
    expect(outcome.learned.knnTop1).toBeGreaterThan(0.3);
    expect(outcome.learned.linearAdamTop1).toBeGreaterThan(0.3);
    expect(outcome.parameters).toBe(445_120); // the extra heads are not the evaluated model
  });
});

describe('looc views: leave-one-out layout', () => {
  it('the recipe stages composed are recipeAugmentation exactly (same draws, same order)', () => {
    const images = asymmetricImages(5);
    const ours = compose([...Object.values(loocStages({ strength: 0.5, flip: true }))]).apply(images, new Rng(3));
    const reference = recipeAugmentation({ strength: 0.5, flip: true }).apply(images, new Rng(3));
    expect(Array.from(ours.dataSync())).toEqual(Array.from(reference.dataSync()));
    tf.dispose([images, ours, reference]);
  });

  it('k_i copies the query parameters of family i only (crop: view 2, jitter: view 3), recorded per view', () => {
    const stages = loocStages({ strength: 0.5, flip: true });
    const crops: unknown[] = [];
    const jitters: unknown[] = [];
    const recorded = (stage: typeof stages.crop | typeof stages.jitter, log: unknown[]): Augmentation => ({
      name: stage.name,
      apply: (images, rng) => {
        const drawn = stage.sample(images.shape[0], rng.clone());
        log.push(JSON.parse(JSON.stringify(drawn, (_, value) => (ArrayBuffer.isView(value) ? Array.from(value as Float32Array) : value))));
        return stage.apply(images, rng);
      },
    });
    const batches = new LoocBatches([recorded(stages.crop, crops), recorded(stages.jitter, jitters)], stages.noise);
    const images = asymmetricImages(3);
    const labels = tf.tensor1d([7, 8, 9], 'int32');
    const before = tf.memory().numTensors;
    const views = batches.generate({ inputs: images, labels }, new Rng(11));
    expect(views.inputs.shape).toEqual([12, 8, 8, 1]);
    expect(Array.from(views.labels.dataSync())).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    // Views in order q, k_0, k_crop, k_jitter; each family applied once per view.
    expect(crops).toHaveLength(4);
    expect(jitters).toHaveLength(4);
    expect(crops[2]).toEqual(crops[0]);
    expect(jitters[3]).toEqual(jitters[0]);
    for (const view of [1, 3]) expect(crops[view]).not.toEqual(crops[0]);
    for (const view of [1, 2]) expect(jitters[view]).not.toEqual(jitters[0]);
    // Per image, not only per batch: every crop centre of k_0 / k_jitter differs from q's.
    const cx = (view: number): number[] => (crops[view] as { cx: number[] }).cx;
    for (let b = 0; b < 3; b++) for (const view of [1, 3]) expect(cx(view)[b]).not.toBe(cx(0)[b]);

    // Space labels: rows r, r' share a label iff same image and (Z_0, or both in {q, k_i} for Z_i).
    const spaceLabels = Array.from(batches.spaceLabels(12).dataSync());
    expect(spaceLabels).toHaveLength(36);
    for (let space = 0; space < 3; space++) {
      for (let r = 0; r < 12; r++) {
        for (let other = 0; other < 12; other++) {
          const [view, image] = [Math.floor(r / 3), r % 3];
          const [view2, image2] = [Math.floor(other / 3), other % 3];
          const together = image === image2 && (space === 0 || ((view === 0 || view === space + 1) && (view2 === 0 || view2 === space + 1)));
          expect(spaceLabels[space * 12 + r] === spaceLabels[space * 12 + other]).toBe(together || r === other);
        }
      }
    }
    batches.release();
    tf.dispose([views.inputs, views.labels]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([images, labels]);
  });

  it('at strength 0 with mirrors, only the crop family (the mirror) varies: k_crop equals q, k_0 and k_jitter do not always', () => {
    const stages = loocStages({ strength: 0, flip: true });
    const batches = new LoocBatches([stages.crop, stages.jitter], stages.noise);
    const n = 16;
    const images = asymmetricImages(n);
    const labels = tf.range(0, n, 1, 'int32') as tf.Tensor1D;
    const views = batches.generate({ inputs: images, labels }, new Rng(5));
    const rows = views.inputs.arraySync() as number[][][][];
    const input = images.arraySync() as number[][][][];
    const mirrored = input.map((image) => image.map((row) => [...row].reverse()));
    const close = (a: number[][][], b: number[][][]): boolean => a.every((row, y) => row.every((pixel, x) => Math.abs((pixel[0] as number) - (b[y]![x]![0] as number)) < 1e-5));
    let differs = 0;
    for (let b = 0; b < n; b++) {
      const q = rows[b]!;
      expect(close(q, input[b]!) || close(q, mirrored[b]!)).toBe(true);
      expect(close(rows[2 * n + b]!, q)).toBe(true); // k_crop shares q's mirror
      for (const view of [1, 3]) {
        const key = rows[view * n + b]!;
        expect(close(key, input[b]!) || close(key, mirrored[b]!)).toBe(true);
        if (!close(key, q)) differs++;
      }
    }
    expect(differs).toBeGreaterThan(0);
    batches.release();
    tf.dispose([images, labels, views.inputs, views.labels]);
  });

  it('mirrors crops on every dataset but digits (the CLI: Fashion-MNIST yes, MNIST no)', () => {
    expect(mirrorsCrops(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])).toBe(false);
    expect(mirrorsCrops(['T-shirt/top', 'Trouser'])).toBe(true);
  });
});

describe('looc step: loss and heads', () => {
  it('the step loss is the sum of the three spaces\' InfoNCE (float64 host reference); the extra heads are trained', async () => {
    const n = 8;
    const rng = new Rng(42);
    const encoder = convEncoder({ inputShape: [28, 28, 1], rng });
    const head = projectionHead({ inputDim: 128, hiddenDim: 128, outputDim: 64, rng });
    const trainTensors = toTensors(dataset.train);
    const context: RecipeContext = {
      dataset,
      train: trainTensors,
      encoder,
      head,
      // Strong views and a low τ: at random init the projections are bunched (cosines near 1), so
      // this spreads the per-pair terms enough for a wrong positive to move the loss visibly.
      options: { temperature: TAU, strength: 1 },
      augmentation: recipeAugmentation({ strength: 1 }),
      batchSize: n,
      epochs: 1,
      seed: 42,
      rng,
      progress,
    };
    const plan = await loocRecipe.plan(context);
    const before = tf.memory().numTensors;
    const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
    const encoderStart = encoder.getWeights();
    const headStart = head.getWeights();
    const variablesStart = (plan.variables ?? []).map((variable) => tf.clone(variable));
    expect(variablesStart.map((v) => v.shape)).toEqual([[128, 128], [128], [128, 64], [64], [128, 128], [128], [128, 64], [64]]);
    let captured: tf.Tensor | undefined;
    const data: BatchSource = {
      stepsPerEpoch: 1,
      batch: () => ({
        inputs: tf.tidy(() => tf.gather(trainTensors.images, tf.range(0, n, 1, 'int32'))),
        labels: tf.tidy(() => tf.gather(trainTensors.labels, tf.range(0, n, 1, 'int32'))),
      }),
    };
    const result = await train({
      encoder,
      head,
      data,
      views: async (batch: Batch, stepRng: Rng) => {
        const views = await plan.views(batch, stepRng);
        captured = tf.clone(views.inputs);
        return views;
      },
      loss: plan.loss,
      ...(plan.hooks === undefined ? {} : { hooks: plan.hooks }),
      ...(plan.variables === undefined ? {} : { variables: plan.variables }),
      optimizer,
      epochs: 1,
      seed: 1,
    });
    const stepLoss = result.epochs[0]!.losses[0]!;

    // (c) every extra-head variable moved.
    for (const [i, variable] of (plan.variables ?? []).entries()) {
      const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(variable, variablesStart[i]!))).dataSync()[0]!);
      expect(moved).toBeGreaterThan(0);
    }

    // (b) host reference: h at the pre-step weights, the heads in float64, InfoNCE per space.
    encoder.setWeights(encoderStart);
    const featureTensor = encoder.apply(captured as tf.Tensor);
    const features = featureTensor.arraySync() as number[][];
    featureTensor.dispose();
    expect(features).toHaveLength(4 * n);
    const host = (tensor: tf.Tensor): number[] | number[][] => tensor.arraySync() as number[] | number[][];
    const dense = (x: number[][], kernel: number[][], bias: number[], relu: boolean): number[][] =>
      x.map((row) =>
        bias.map((b, j) => {
          let sum = b;
          for (let k = 0; k < row.length; k++) sum += (row[k] as number) * (kernel[k]![j] as number);
          return relu ? Math.max(0, sum) : sum;
        }),
      );
    const mlp = (weights: tf.Tensor[]): number[][] =>
      dense(dense(features, host(weights[0]!) as number[][], host(weights[1]!) as number[], true), host(weights[2]!) as number[][], host(weights[3]!) as number[], false);
    const spaces = [mlp(headStart), mlp(variablesStart.slice(0, 4)), mlp(variablesStart.slice(4, 8))];
    const unit = (rows: number[][]): number[][] => rows.map((row) => {
      const norm = Math.sqrt(row.reduce((sum, value) => sum + value * value, 0));
      return row.map((value) => value / norm);
    });
    const tau = TAU;
    /** Mean over (q_b, positive key) of -log(e^{s_bp/τ} / (e^{s_bp/τ} + Σ_{negative keys} e^{s_bk/τ})). */
    const spaceLoss = (z: number[][], positives: (b: number) => number[], negatives: (b: number) => number[]): number => {
      const rows = unit(z);
      const q = rowsOf(rows, 0, n);
      const keys = rowsOf(rows, n, 3 * n); // key row j n + b: k_0, k_crop, k_jitter of image b
      const sim = (b: number, key: number): number => q[b]!.reduce((sum, value, d) => sum + value * keys[key]![d]!, 0) / tau;
      let total = 0;
      let pairs = 0;
      for (let b = 0; b < n; b++) {
        const negativeTerms = negatives(b).map((key) => Math.exp(sim(b, key)));
        for (const p of positives(b)) {
          total += Math.log(Math.exp(sim(b, p)) + negativeTerms.reduce((a, c) => a + c, 0)) - sim(b, p);
          pairs++;
        }
      }
      return total / pairs;
    };
    const allKeys = Array.from({ length: 3 * n }, (_, key) => key);
    const ofImage = (b: number): number[] => [b, n + b, 2 * n + b];
    const z0 = spaceLoss(spaces[0]!, ofImage, (b) => allKeys.filter((key) => key % n !== b));
    const zi = (i: number): number => spaceLoss(spaces[i]!, (b) => [i * n + b], (b) => allKeys.filter((key) => key !== i * n + b));
    const expected = z0 + zi(1) + zi(2);
    expect(Math.abs(stepLoss - expected)).toBeLessThan(LOSS_ATOL);
    // The reference is sensitive to the layout: Z_i without the same-image keys as negatives differs.
    const looser = z0 + [1, 2].reduce((sum, i) => sum + spaceLoss(spaces[i]!, (b) => [i * n + b], (b) => allKeys.filter((key) => key % n !== b)), 0);
    expect(Math.abs(looser - expected)).toBeGreaterThan(100 * LOSS_ATOL);
    // ... and to which key is the positive of Z_i: swapping k_crop and k_jitter differs too.
    const swapped = z0 + [1, 2].reduce((sum, i) => sum + spaceLoss(spaces[i]!, (b) => [(3 - i) * n + b], (b) => allKeys.filter((key) => key !== (3 - i) * n + b)), 0);
    expect(Math.abs(swapped - expected)).toBeGreaterThan(10 * LOSS_ATOL);

    tf.dispose([...encoderStart, ...headStart, ...variablesStart, captured as tf.Tensor]);
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    plan.dispose();
    encoder.dispose();
    head.dispose();
    tf.dispose([trainTensors.images, trainTensors.labels]);
  }, 900_000); // < 1 s on wasm; one CNN backward pass of 32 rows takes minutes on tfjs's cpu backend

  it('rejects a bad temperature, a dataset of vectors, and a loss input of the wrong layout', async () => {
    const base = { dataset: small, options: { temperature: 0, strength: 0.5 } } as unknown as RecipeContext;
    await expect(async () => loocRecipe.plan(base)).rejects.toThrow(/options\.temperature.*loocRecipe/);
    const table = { ...small, train: { ...small.train, shape: [4, 1, 1] } } as unknown as ImageDataset;
    await expect(async () => loocRecipe.plan({ ...base, dataset: table, options: { temperature: 0.2, strength: 0.5 } })).rejects.toThrow(
      /context\.dataset.*must hold images/,
    );
    const loss = loocLoss({ temperature: 0.2, spaces: 3, views: 4 });
    const embeddings = tf.zeros([10, 4]) as tf.Tensor2D;
    const labels = tf.zeros([10], 'int32') as tf.Tensor1D;
    expect(() => loss.compute({ embeddings, labels })).toThrow(/'embeddings' passed to 'loocLoss' must have 3 x 4 x n rows/);
    expect(() => loocLoss({ temperature: -1, spaces: 3, views: 4 })).toThrow(/temperature/);
    tf.dispose([embeddings, labels]);
  });
});

describe('looc resume', () => {
  it('2 epochs straight = 1 epoch + resume to 2 (the extra heads are checkpointed and restored)', async () => {
    const run = (name: string, epochs: number, resume: boolean) => runRecipe(loocRecipe, settings(small, name, { epochs, batchSize: 32, resume }));
    const straight = await run('straight', 2, false);
    await run('resumed', 1, false);
    const saved = await loadCheckpoint(join(out, 'resumed'));
    try {
      expect(saved.extra['train.variables']?.map((tensor) => tensor.shape)).toEqual([[128, 128], [128], [128, 64], [64], [128, 128], [128], [128, 64], [64]]);
    } finally {
      disposeTrainState(saved);
    }
    const resumed = await run('resumed', 2, true);
    expect(resumed.resumedFromEpoch).toBe(1);
    expect(resumed.epochs.map((epoch) => epoch.meanLoss)).toEqual(straight.epochs.map((epoch) => epoch.meanLoss));
    expect(resumed.learned.knnTop1).toBe(straight.learned.knnTop1);
  });
});
