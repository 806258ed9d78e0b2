import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, convEncoder, embedDataset, projectionHead } from '@contrastive/core';
import type { Encoder, EncoderApplyOptions } from '@contrastive/core';
import { expectContrastiveError, useTestBackend } from '@contrastive/core/testing';
import { recipeAugmentation } from '@contrastive/augment';
import { loadMnist, toTensors } from '@contrastive/data';
import type { ImageDataset } from '@contrastive/data';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createProgress } from '../progress.js';
import type { Progress } from '../progress.js';
import { pclEStep, pclRecipe, pclRecipeWith, pclWarmupEpochs } from './pcl.js';
import type { PclPlan } from './pcl.js';
import type { RecipeContext, RecipeOptions } from './recipe.js';
import { runRecipe } from './run-recipe.js';
import type { RecipeSettings } from './run-recipe.js';
import { strided } from './recipes.test.helpers.js';

/** float32 device vs float64 host. */
const TOLERANCE = { atol: 1e-5, rtol: 1e-4 };

function expectClose(actual: number, expected: number, tolerance = TOLERANCE): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance.atol + tolerance.rtol * Math.abs(expected));
}

/**
 * The whole runs (`runRecipe`): on wasm 256 train images in batches of 64 with the default clusters
 * [10, 20, 40] and every 4th test image (500, all digits — the evaluation of the three runs
 * dominates otherwise). On the pure-JS cpu backend a gradient step of the CNN costs about a second of
 * CPU per view (tfjs-backend-cpu's conv backprop), so there 32 train images in batches of 8,
 * clusters [4, 8] (at most the 32 images) and every 20th test image. The direct tests of the plan
 * (forward passes only) use 128 train images on both backends.
 */
interface Scale {
  readonly trainLimit: number;
  readonly batchSize: number;
  /** `options.clusters`; undefined: the recipe's default [10, 20, 40]. */
  readonly clusters: readonly number[] | undefined;
  readonly testStride: number;
}
const SCALES: Readonly<Record<'wasm' | 'cpu', Scale>> = {
  wasm: { trainLimit: 256, batchSize: 64, clusters: undefined, testStride: 4 },
  cpu: { trainLimit: 32, batchSize: 8, clusters: [4, 8], testStride: 20 },
};
const ON_CPU = process.env['CONTRASTIVE_TEST_BACKEND'] === 'cpu';
/** Minutes on the cpu backend of a busy machine. */
const RUN_TIMEOUT = ON_CPU ? 3_600_000 : 300_000;

let scale: Scale;
/** 128 train images, for the direct tests of the plan. */
let dataset: ImageDataset;
/** The whole-run data of {@link scale}. */
let runData: ImageDataset;
let out: string;

beforeAll(async () => {
  scale = SCALES[await useTestBackend()];
  dataset = await loadMnist({ trainLimit: 128 });
  const full = await loadMnist({ trainLimit: scale.trainLimit });
  runData = { ...full, test: strided(full.test, scale.testStride) };
  out = await mkdtemp(join(tmpdir(), 'contrastive-pcl-'));
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterAll(async () => {
  vi.restoreAllMocks();
  await rm(out, { recursive: true, force: true });
});

/** A quiet progress that records its log lines. */
function recordingProgress(lines: string[]): Progress {
  const quiet = createProgress({ quiet: true });
  return { ...quiet, log: (line) => lines.push(line) };
}

/** A plan context as `runRecipe` builds it (reference CNN, 128-128-64 head), for direct tests of the plan. */
function directContext(options: RecipeOptions = {}, epochs = 2): RecipeContext {
  const rng = new Rng(7);
  const encoder = convEncoder({ inputShape: dataset.train.shape, rng });
  const head = projectionHead({ inputDim: encoder.outputDim, hiddenDim: 128, outputDim: 64, rng });
  const train = toTensors(dataset.train);
  return {
    dataset,
    train,
    encoder,
    head,
    options: { ...pclRecipe.defaults, ...options, strength: 0.5 },
    augmentation: recipeAugmentation({ flip: false, strength: 0.5 }),
    batchSize: 64,
    epochs,
    seed: 3,
    rng,
    progress: createProgress({ quiet: true }),
  };
}

function disposeContext(context: RecipeContext): void {
  tf.dispose([context.train.images, context.train.labels]);
  context.encoder.dispose();
  context.head.dispose();
}

/** Host float64 unit rows of a `[n, d]` tensor. */
function unitRows(values: ArrayLike<number>, d: number): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < values.length / d; i++) {
    const row = Array.from({ length: d }, (_, t) => values[i * d + t] as number);
    const norm = Math.sqrt(row.reduce((sum, value) => sum + value * value, 0));
    rows.push(row.map((value) => value / norm));
  }
  return rows;
}

function dot(a: readonly number[], b: readonly number[]): number {
  return a.reduce((sum, value, t) => sum + value * (b[t] as number), 0);
}

function logSumExp(values: readonly number[]): number {
  const top = Math.max(...values);
  return top + Math.log(values.reduce((sum, value) => sum + Math.exp(value - top), 0));
}

/** SimCLR's NT-Xent over 2N unit rows (view-major), every anchor's positive its other view. */
function hostNtXent(z: number[][], tau: number): number {
  const n2 = z.length;
  let total = 0;
  for (let a = 0; a < n2; a++) {
    const positive = (a + n2 / 2) % n2;
    const others = z.flatMap((row, k) => (k === a ? [] : [dot(z[a] as number[], row) / tau]));
    total += logSumExp(others) - dot(z[a] as number[], z[positive] as number[]) / tau;
  }
  return total / n2;
}

/** PCL's eq. 10 prototype term for the view-1 rows, averaged over the queries and the granularities. */
function hostPrototypeTerm(queries: number[][], imageIds: readonly number[], set: { prototypes: number[][][]; phi: number[][]; assignments: number[][] }): number {
  let total = 0;
  set.prototypes.forEach((centres, m) => {
    let term = 0;
    queries.forEach((u, i) => {
      const logits = centres.map((c, j) => dot(u, c) / (set.phi[m]?.[j] as number));
      const own = set.assignments[m]?.[imageIds[i] as number] as number;
      term += logSumExp(logits) - (logits[own] as number);
    });
    total += term / queries.length;
  });
  return total / set.prototypes.length;
}

async function readSet(plan: PclPlan): Promise<{ prototypes: number[][][]; phi: number[][]; assignments: number[][] }> {
  const set = plan.prototypes();
  if (set === undefined) throw new Error('no prototypes');
  return {
    prototypes: await Promise.all(set.prototypes.map(async (p) => (await p.array()) as number[][])),
    phi: await Promise.all(set.concentrations.map(async (c) => Array.from(await c.data()))),
    assignments: await Promise.all(set.assignments.map(async (a) => Array.from(await a.data()))),
  };
}

function networkOf(context: RecipeContext): Pick<Encoder, 'apply'> {
  return { apply: (x: tf.Tensor, options?: EncoderApplyOptions) => tf.tidy(() => context.head.apply(context.encoder.apply(x, options), options)) };
}

describe('pcl recipe', () => {
  it('warm-up is 10 % of the epochs, rounded down; pclRecipe uses it, pclRecipeWith overrides it', () => {
    expect([0, 5, 9, 10, 19, 25, 200].map(pclWarmupEpochs)).toEqual([0, 0, 0, 1, 1, 2, 20]);
    const context = directContext({}, 25);
    try {
      const plan = pclRecipe.plan(context);
      expect(plan.warmupEpochs).toBe(2);
      expect(plan.clusters).toEqual([10, 20, 40]);
      plan.dispose();
      const fixed = pclRecipeWith({ warmupEpochs: 0 }).plan(context);
      expect(fixed.warmupEpochs).toBe(0);
      fixed.dispose();
    } finally {
      disposeContext(context);
    }
    expect(pclRecipe.defaults).toEqual({ temperature: 0.2, clusters: [10, 20, 40] });
    expectContrastiveError(() => pclRecipeWith({ warmupEpochs: -1 }), 'INVALID_ARGUMENT', /Argument 'config.warmupEpochs' passed to 'pclRecipeWith'/);
  });

  it.each([
    ['a fraction', [10, 2.5]],
    ['one cluster', [1, 10]],
    ['more clusters than the 128 train images', [10, 200]],
    ['an empty list', []],
    ['a string', '10,20'],
  ])('rejects options.clusters with %s', (_what, clusters) => {
    const context = directContext({ clusters: clusters as unknown as number[] });
    try {
      expectContrastiveError(() => pclRecipe.plan(context), 'INVALID_ARGUMENT', /Argument 'options\.clusters' passed to 'pclRecipe' must be a non-empty array of integers in \[2, 128\]/);
    } finally {
      disposeContext(context);
    }
  });

  it('E-step: every train image is assigned to its nearest prototype (host cosine), φ has mean τ, nothing leaks', async () => {
    const context = directContext({ clusters: [5, 12] });
    const before = tf.memory().numTensors;
    const plan = pclRecipeWith({ warmupEpochs: 0 }).plan(context);
    try {
      expect(plan.prototypes()).toBeUndefined();
      await plan.beginEpoch?.(0);
      const set = await readSet(plan);
      // The E-step's input, recomputed here: the un-augmented train split through head ∘ encoder.
      const features = embedDataset(networkOf(context), context.train.images);
      const z = unitRows(await features.data(), 64);
      features.dispose();
      expect(set.prototypes.map((p) => p.length)).toEqual([5, 12]);
      set.prototypes.forEach((centres, m) => {
        for (const c of centres) expectClose(Math.sqrt(dot(c, c)), 1);
        const phi = set.phi[m] as number[];
        expectClose(phi.reduce((sum, value) => sum + value, 0) / phi.length, 0.2);
        expect(Math.min(...phi)).toBeGreaterThan(0);
        const assigned = set.assignments[m] as number[];
        expect(assigned).toHaveLength(128);
        expect(new Set(assigned).size).toBe(centres.length); // no empty cluster
        z.forEach((row, i) => {
          const cosines = centres.map((c) => dot(row, c));
          const best = Math.max(...cosines);
          // The assigned prototype is the nearest one (up to float32 ties).
          expect(cosines[assigned[i] as number]).toBeGreaterThanOrEqual(best - 1e-6);
        });
      });
      // Deterministic in (weights, seed, epoch): a second plan reproduces the E-step exactly.
      const again = pclRecipeWith({ warmupEpochs: 0 }).plan(context);
      await again.beginEpoch?.(0);
      expect((await readSet(again)).assignments).toEqual(set.assignments);
      again.dispose();
    } finally {
      plan.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    disposeContext(context);
  });

  it('M-step: the step loss is NT-Xent + mean ProtoNCE (host float64), by dataset index; warm-up is NT-Xent alone', async () => {
    const context = directContext({ clusters: [4, 9] });
    const plan = pclRecipeWith({ warmupEpochs: 0 }).plan(context);
    const warm = pclRecipeWith({ warmupEpochs: 1 }).plan(context);
    try {
      await plan.beginEpoch?.(0);
      await warm.beginEpoch?.(0);
      expect(warm.prototypes()).toBeUndefined();
      const set = await readSet(plan);
      const imageIds = [5, 100, 17, 63, 127, 1, 90];
      const n = imageIds.length;
      const batch = {
        inputs: tf.gather(context.train.images, imageIds),
        labels: tf.gather(context.train.labels, imageIds),
        indices: tf.tensor1d(imageIds, 'int32'),
      };
      const views = await plan.views(batch, new Rng(11));
      const rng = new Rng(0);
      const [value, warmValue, embeddings] = tf.tidy(() => {
        const features = context.encoder.apply(views.inputs, { training: true });
        const z = context.head.apply(features, { training: true });
        const step = { epoch: 0, step: 0, inputs: views.inputs, labels: views.labels, features, embeddings: z, indices: batch.indices, rng };
        const input = plan.hooks?.lossInput?.(step);
        const warmInput = warm.hooks?.lossInput?.(step);
        if (input === undefined || warmInput === undefined) throw new Error('pcl needs hooks.lossInput');
        return [plan.loss.compute(input), warm.loss.compute(warmInput), z];
      });
      const z = unitRows(await embeddings.data(), 64);
      const instance = hostNtXent(z, 0.2);
      const prototypeTerm = hostPrototypeTerm(z.slice(0, n), imageIds, set);
      expect(prototypeTerm).toBeGreaterThan(0.1); // the check below would catch a dropped term
      expectClose((await value.data())[0] as number, instance + prototypeTerm);
      expectClose((await warmValue.data())[0] as number, instance);
      // Batch positions instead of dataset indices would give another value.
      expect(Math.abs(hostPrototypeTerm(z.slice(0, n), [0, 1, 2, 3, 4, 5, 6], set) - prototypeTerm)).toBeGreaterThan(1e-3);
      // The gradient the optimizer sees is that of the objective (host central differences, float64).
      const raw = (await embeddings.array()) as number[][];
      const objective = (rows: number[][]): number => {
        const unit = rows.map((row) => unitRows(row, row.length)[0] as number[]);
        return hostNtXent(unit, 0.2) + hostPrototypeTerm(unit.slice(0, n), imageIds, set);
      };
      const gradient = tf.grad((e: tf.Tensor) => {
        const input = plan.hooks?.lossInput?.({ epoch: 0, step: 0, inputs: views.inputs, labels: views.labels, features: e as tf.Tensor2D, embeddings: e as tf.Tensor2D, indices: batch.indices, rng });
        if (input === undefined) throw new Error('pcl needs hooks.lossInput');
        return plan.loss.compute(input);
      })(embeddings);
      const device = (await gradient.array()) as number[][];
      gradient.dispose();
      const h = 1e-5;
      for (const [i, t] of [[0, 0], [3, 17], [n, 5], [n + 2, 63], [2 * n - 1, 30]] as const) {
        const up = raw.map((row) => [...row]);
        const down = raw.map((row) => [...row]);
        (up[i] as number[])[t] = (raw[i]?.[t] as number) + h;
        (down[i] as number[])[t] = (raw[i]?.[t] as number) - h;
        expectClose(device[i]?.[t] as number, (objective(up) - objective(down)) / (2 * h), { atol: 1e-4, rtol: 1e-3 });
      }
      tf.dispose([value, warmValue, embeddings, batch.inputs, batch.labels, batch.indices, views.inputs, views.labels]);
      // A batch without dataset indices is refused.
      expect(() =>
        tf.tidy(() => {
          plan.hooks?.lossInput?.({ epoch: 0, step: 0, inputs: tf.zeros([2, 1]), labels: tf.zeros([2], 'int32'), features: tf.zeros([2, 4]), embeddings: tf.zeros([2, 4]), indices: undefined, rng });
        }),
      ).toThrow(/Argument 'data' passed to 'pclRecipe' must give every batch its dataset indices/);
    } finally {
      plan.dispose();
      warm.dispose();
      disposeContext(context);
    }
  });

  it('concentrations follow PCL: mean ‖v − c‖ / log(Z + 10), singleton = max, clipped to P10–P90, mean τ', async () => {
    const degrees = [0, 10, -10, 110, 70, 225]; // clusters A (3 points), B (2 points), C (1 point)
    const features = tf.tensor2d(degrees.flatMap((angle) => [Math.cos((angle * Math.PI) / 180), Math.sin((angle * Math.PI) / 180)]), [6, 2]);
    const bank = pclEStep(features, { clusters: [3], temperature: 0.5, rng: new Rng(4) });
    try {
      const set = bank.prototypes();
      const assigned = Array.from(await (set.assignments[0] as tf.Tensor1D).data());
      const [a, b, c] = [assigned[0], assigned[3], assigned[5]] as [number, number, number];
      expect(assigned).toEqual([a, a, a, b, b, c]);
      // By symmetry the unit centroids sit at 0° and 90°; chord lengths 2 sin(Δ/2).
      const sin = (angle: number): number => Math.sin((angle * Math.PI) / 180);
      const phiA = ((0 + 2 * sin(5) + 2 * sin(5)) / 3) / Math.log(3 + 10);
      const phiB = ((2 * sin(10) + 2 * sin(10)) / 2) / Math.log(2 + 10);
      const phiC = Math.max(phiA, phiB); // a singleton takes the largest φ
      // numpy's linear percentiles of three sorted values [phiA, phiB, phiC]: positions 0.2 and 1.8.
      const low = phiA + 0.2 * (phiB - phiA);
      const high = phiB + 0.8 * (phiC - phiB);
      const clipped = [phiA, phiB, phiC].map((phi) => Math.min(Math.max(phi, low), high));
      const mean = clipped.reduce((sum, value) => sum + value, 0) / 3;
      const expected = clipped.map((phi) => (0.5 * phi) / mean);
      const phi = Array.from(await (set.concentrations[0] as tf.Tensor1D).data());
      expectClose(phi[a] as number, expected[0] as number);
      expectClose(phi[b] as number, expected[1] as number);
      expectClose(phi[c] as number, expected[2] as number);
      expect(expected[0]).toBeGreaterThan(0.5 * phiA / ((phiA + phiB + phiC) / 3)); // the clip acted
    } finally {
      bank.dispose();
      features.dispose();
    }
  });

  it('runRecipe: 2 epochs with the prototype term train sanely, leak nothing, and --resume is exact', { timeout: RUN_TIMEOUT }, async () => {
    const recipe = pclRecipeWith({ warmupEpochs: 0 });
    const settings = (epochs: number, name: string, resume: boolean, lines: string[]): RecipeSettings => ({
      dataset: runData,
      flip: false,
      epochs,
      batchSize: scale.batchSize,
      seed: 0,
      learningRate: 1e-3,
      options: scale.clusters === undefined ? {} : { clusters: scale.clusters },
      probe: 'adam',
      baselines: false,
      runDir: join(out, name),
      resume,
      progress: recordingProgress(lines),
    });
    const clusters = (scale.clusters ?? [10, 20, 40]).join('/');
    const before = tf.memory().numTensors;
    const straightLog: string[] = [];
    const straight = await runRecipe(recipe, settings(2, 'straight', false, straightLog));
    expect(tf.memory().numTensors).toBe(before);
    expect(straightLog.filter((line) => line.startsWith('E-step'))).toEqual([
      expect.stringMatching(new RegExp(`^E-step before epoch 1: k-means ${clusters} on ${scale.trainLimit} images`)),
      expect.stringMatching(new RegExp(`^E-step before epoch 2: k-means ${clusters} on ${scale.trainLimit} images`)),
    ]);
    expect(straight.epochs).toHaveLength(2);
    for (const { meanLoss } of straight.epochs) {
      expect(Number.isFinite(meanLoss)).toBe(true);
      expect(meanLoss).toBeGreaterThan(0);
    }
    expect(straight.learned.knnTop1).toBeGreaterThan(0.3); // 10 classes: chance is 0.1
    expect(straight.learned.linearAdamTop1).toBeGreaterThan(0.3);

    await runRecipe(recipe, settings(1, 'resumed', false, []));
    const resumedLog: string[] = [];
    const resumed = await runRecipe(recipe, settings(2, 'resumed', true, resumedLog));
    expect(resumed.resumedFromEpoch).toBe(1);
    // The first epoch after the resume recomputes its prototypes from the restored weights.
    expect(resumedLog.filter((line) => line.startsWith('E-step'))).toEqual([expect.stringMatching(/^E-step before epoch 2:/)]);
    expect(resumed.epochs.map((epoch) => epoch.meanLoss)).toEqual(straight.epochs.map((epoch) => epoch.meanLoss));
    expect(resumed.learned.knnTop1).toBe(straight.learned.knnTop1);
    expect(tf.memory().numTensors).toBe(before);
    console.info(
      `pcl 2 epochs (${scale.trainLimit} images, batch ${scale.batchSize}, clusters ${clusters}, ${runData.test.count} test): losses ${straight.epochs.map((epoch) => epoch.meanLoss.toFixed(4)).join(', ')}; kNN ${straight.learned.knnTop1}, ` +
        `linear (adam) ${straight.learned.linearAdamTop1}, cluster NMI ${straight.learned.clusterNmi}; train ${straight.trainSeconds.toFixed(1)} s, eval ${straight.learned.seconds.toFixed(1)} s`,
    );
  });
});
