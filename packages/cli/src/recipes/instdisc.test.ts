import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import type { Batch, StepContext, TrainHooks } from '@contrastive/core';
import { expectContrastiveError, useTestBackend } from '@contrastive/core/testing';
import { recipeAugmentation } from '@contrastive/augment';
import { loadMnist } from '@contrastive/data';
import type { ImageDataset } from '@contrastive/data';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createProgress } from '../progress.js';
import { drawNoiseIndices, instdiscRecipe } from './instdisc.js';
import type { RecipeContext, RecipeOptions, RecipePlan } from './recipe.js';
import { runRecipe } from './run-recipe.js';
import type { RecipeSettings } from './run-recipe.js';

/** float32 results against float64 host references. */
const ATOL = 1e-5;
const RTOL = 1e-4;
/** The whole-run tests: seconds on wasm, minutes on the pure-JS cpu backend of a busy machine. */
const SLOW_TIMEOUT = 900_000;

let out: string;
let mnist: ImageDataset;
/**
 * Sizes of the whole-run tests. The pure-JS cpu backend trains the reference CNN ~50x slower than
 * wasm (one 64-image step ≈ 20 s of CPU), so it runs the same tests on smaller subsets.
 */
let sizes: { readonly short: number; readonly resume: number; readonly batchSize: number; readonly testStride: number; readonly minTop1: number };

/**
 * `dataset` with every `stride`-th test image (the test split is ordered by digit, so a stride keeps
 * every class): the evaluation after each run dominates the test's time on the cpu backend.
 */
function thinTest(dataset: ImageDataset, stride: number): ImageDataset {
  const { test } = dataset;
  const size = test.shape[0] * test.shape[1] * test.shape[2];
  const keep = Array.from({ length: Math.ceil(test.count / stride) }, (_, i) => i * stride);
  const images = new Float32Array(keep.length * size);
  keep.forEach((index, row) => images.set(test.images.subarray(index * size, (index + 1) * size), row * size));
  return { ...dataset, test: { images, labels: Int32Array.from(keep, (index) => test.labels[index] as number), count: keep.length, shape: test.shape } };
}

beforeAll(async () => {
  const backend = await useTestBackend();
  sizes = backend === 'cpu' ? { short: 64, resume: 32, batchSize: 16, testStride: 20, minTop1: 0.3 } : { short: 256, resume: 128, batchSize: 64, testStride: 4, minTop1: 0.5 };
  out = await mkdtemp(join(tmpdir(), 'contrastive-instdisc-'));
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  mnist = thinTest(await loadMnist({ trainLimit: sizes.short }), sizes.testStride);
});

afterAll(async () => {
  vi.restoreAllMocks();
  await rm(out, { recursive: true, force: true });
});

function settings(name: string, epochs: number, resume = false, dataset: ImageDataset = mnist): RecipeSettings {
  return {
    dataset,
    flip: false,
    epochs,
    batchSize: sizes.batchSize,
    seed: 3,
    learningRate: 1e-3,
    options: {},
    probe: 'adam',
    baselines: false,
    runDir: join(out, name),
    resume,
    progress: createProgress({ quiet: true }),
  };
}

/** A recipe context with only what `instdiscRecipe.plan` reads: bank size `n`, head width `dim`. */
function smallContext(n: number, dim: number, options: RecipeOptions = {}, log: (line: string) => void = () => undefined): RecipeContext {
  return {
    dataset: { train: { count: n } },
    head: { outputDim: dim },
    options: { ...instdiscRecipe.defaults, strength: 0.5, ...options },
    augmentation: recipeAugmentation({ flip: false, strength: 0.5 }),
    rng: new Rng(11),
    progress: { startEpoch: () => undefined, step: () => undefined, endEpoch: () => undefined, log },
  } as unknown as RecipeContext;
}

/** The forward pass of a step as `lossInput` sees it, with given head outputs `z` (borrowed). */
function stepContext(embeddings: tf.Tensor2D, indices: tf.Tensor1D, rng: Rng): StepContext {
  return { epoch: 0, step: 0, inputs: embeddings, labels: indices, features: embeddings, embeddings, indices, rng };
}

/** The bank entries as float64 rows (from `saveState`). */
function bankRows(hooks: TrainHooks): number[][] {
  const state = hooks.saveState?.() ?? {};
  const tensors = Object.values(state).flat();
  const entries = (state['instdisc.bank'] as tf.Tensor[])[0] as tf.Tensor2D;
  const rows = entries.arraySync();
  tf.dispose(tensors);
  return rows;
}

const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);
const normalize = (a: readonly number[]): number[] => {
  const norm = Math.sqrt(dot(a, a));
  return a.map((x) => x / norm);
};

/**
 * Float64 reference of the official NCE (`NCEAverage` + `NCECriterion` of lemniscate.pytorch), as
 * obvious loops: `P = exp(s / τ) / Z`, `h = P / (P + K / N)`,
 * `L = (1 / B) Σ_i [−log h(i, pos) − Σ_k log(1 − h(i, n_ik))]`.
 */
function hostNce(v: number[][], bank: number[][], positives: number[], draws: number[], k: number, temperature: number, z: number): number {
  const n = bank.length;
  const kpn = k / n;
  let total = 0;
  v.forEach((row, i) => {
    const p = (j: number): number => Math.exp(dot(row, bank[j] as number[]) / temperature) / z;
    const hPos = p(positives[i] as number) / (p(positives[i] as number) + kpn);
    total -= Math.log(hPos);
    for (let t = 0; t < k; t++) {
      const pn = p(draws[i * k + t] as number);
      total -= Math.log(1 - pn / (pn + kpn));
    }
  });
  return total / v.length;
}

/** `Z = N · mean_{i,k} exp(v_i · bank[n_ik] / τ)` in float64 (the first-batch estimate). */
function hostPartition(v: number[][], bank: number[][], draws: number[], k: number, temperature: number): number {
  let sum = 0;
  v.forEach((row, i) => {
    for (let t = 0; t < k; t++) sum += Math.exp(dot(row, bank[draws[i * k + t] as number] as number[]) / temperature);
  });
  return (bank.length * sum) / (v.length * k);
}

function expectClose(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(ATOL + RTOL * Math.abs(expected));
}

/** One recipe step outside the loop, as `train` runs it: `lossInput` → loss → `afterStep`; returns the loss. */
function step(plan: RecipePlan, z: tf.Tensor2D, indices: tf.Tensor1D, rng: Rng): number {
  const hooks = plan.hooks as TrainHooks;
  const loss = tf.tidy(() => plan.loss.compute((hooks.lossInput as NonNullable<TrainHooks['lossInput']>)(stepContext(z, indices, rng))));
  try {
    void hooks.afterStep?.({ epoch: 0, step: 0, stepsPerEpoch: 1, inputs: z, labels: indices, loss, indices, rng });
    return loss.dataSync()[0] as number;
  } finally {
    loss.dispose();
  }
}

describe('instdisc recipe (Wu et al. 2018)', () => {
  it('trains one short epoch on mnist: finite NCE loss, kNN far above chance, no leak', async () => {
    const before = tf.memory().numTensors;
    const outcome = await runRecipe(instdiscRecipe, settings('short', 1));
    expect(tf.memory().numTensors).toBe(before);
    expect(outcome.options).toMatchObject({ temperature: 0.07, momentum: 0.5, negatives: 4096 });
    expect(outcome.epochs).toHaveLength(1);
    const loss = outcome.epochs[0]!.meanLoss;
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeGreaterThan(0);
    expect(outcome.learned.knnTop1).toBeGreaterThan(sizes.minTop1); // 10 classes: chance is 0.1
    expect(outcome.learned.linearAdamTop1).toBeGreaterThan(sizes.minTop1);
    console.info(`instdisc 1 epoch: loss ${loss.toFixed(4)}, kNN ${outcome.learned.knnTop1}, linear(adam) ${outcome.learned.linearAdamTop1}`);
  }, SLOW_TIMEOUT);

  it('after a step, the batch rows of the bank are normalize(0.5 old + 0.5 v) and the others unchanged', () => {
    const [n, dim, b] = [20, 8, 5];
    const plan = instdiscRecipe.plan(smallContext(n, dim, { negatives: 6 })) as RecipePlan;
    const hooks = plan.hooks as TrainHooks;
    const before = tf.memory().numTensors;
    const zHost = new Rng(5).normalArray(b * dim);
    const z = tf.tensor2d(zHost, [b, dim]);
    const batch = [3, 7, 0, 19, 11];
    const indices = tf.tensor1d(batch, 'int32');
    const old = bankRows(hooks);
    step(plan, z, indices, new Rng(1));
    const updated = bankRows(hooks);
    tf.dispose([z, indices]);
    expect(tf.memory().numTensors).toBe(before);
    for (let j = 0; j < n; j++) {
      const slot = batch.indexOf(j);
      if (slot < 0) {
        expect(updated[j]).toEqual(old[j]); // bit-identical
        continue;
      }
      const v = normalize(Array.from(zHost.subarray(slot * dim, (slot + 1) * dim)));
      const expected = normalize((old[j] as number[]).map((x, t) => 0.5 * x + 0.5 * (v[t] as number)));
      (updated[j] as number[]).forEach((x, t) => expect(Math.abs(x - (expected[t] as number))).toBeLessThanOrEqual(ATOL));
    }
    plan.dispose();
  });

  it('the loss equals a float64 NCE over the same per-anchor draws; Z is estimated on the first batch, then frozen', () => {
    const [n, dim, b, k, temperature] = [24, 6, 4, 7, 0.2];
    const plan = instdiscRecipe.plan(smallContext(n, dim, { negatives: k, temperature })) as RecipePlan;
    const hooks = plan.hooks as TrainHooks;
    const before = tf.memory().numTensors;
    let z1: number | undefined;
    for (const [seed, batch] of [[21, [5, 0, 23, 9]], [22, [1, 5, 17, 12]]] as const) {
      const zHost = new Rng(seed).normalArray(b * dim);
      const z = tf.tensor2d(zHost, [b, dim]);
      const indices = tf.tensor1d([...batch], 'int32');
      const bank = bankRows(hooks);
      // The draws the step makes, replayed from the same generator state.
      const draws = Array.from(drawNoiseIndices(new Rng(seed), b, k, n));
      const rng = new Rng(seed);
      // What lossInput hands to the loss: per-anchor draws with the positive = own entry.
      const input = tf.tidy(() => {
        const given = (hooks.lossInput as NonNullable<TrainHooks['lossInput']>)(stepContext(z, indices, rng.clone()));
        if (given.tuples?.kind !== 'pairs') throw new Error('expected pairs');
        return {
          anchorPos: Array.from(given.tuples.anchorPos.dataSync()),
          positive: Array.from(given.tuples.positive.dataSync()),
          anchorNeg: Array.from(given.tuples.anchorNeg.dataSync()),
          negative: Array.from(given.tuples.negative.dataSync()),
          refRows: given.ref?.embeddings.shape[0],
        };
      });
      expect(input.anchorPos).toEqual([0, 1, 2, 3]);
      expect(input.positive).toEqual([...batch]);
      expect(input.negative).toEqual(draws);
      expect(input.anchorNeg).toEqual(draws.map((_, j) => Math.floor(j / k)));
      expect(input.refRows).toBe(n);
      // The step itself (same generator state), then the float64 reference.
      const loss = step(plan, z, indices, rng);
      const v = Array.from({ length: b }, (_, i) => normalize(Array.from(zHost.subarray(i * dim, (i + 1) * dim))));
      z1 ??= hostPartition(v, bank, draws, k, temperature);
      const logZ = frozenLogPartition(hooks);
      expectClose(Math.exp(logZ), z1);
      expectClose(loss, hostNce(v, bank, [...batch], draws, k, temperature, Math.exp(logZ)));
      expectClose(loss, hostNce(v, bank, [...batch], draws, k, temperature, z1));
      tf.dispose([z, indices]);
    }
    expect(tf.memory().numTensors).toBe(before);
    plan.dispose();
  });

  it("objective 'softmax': the loss is the exact non-parametric softmax over the whole bank (float64 reference), no noise draws", () => {
    const [n, dim, b, temperature] = [24, 6, 4, 0.2];
    const plan = instdiscRecipe.plan(smallContext(n, dim, { temperature, objective: 'softmax' })) as RecipePlan;
    const hooks = plan.hooks as TrainHooks;
    const before = tf.memory().numTensors;
    for (const [seed, batch] of [[31, [5, 0, 23, 9]], [32, [1, 5, 17, 12]]] as const) {
      const zHost = new Rng(seed).normalArray(b * dim);
      const z = tf.tensor2d(zHost, [b, dim]);
      const indices = tf.tensor1d([...batch], 'int32');
      const bank = bankRows(hooks);
      const rng = new Rng(seed);
      const state = JSON.stringify(rng.state());
      const loss = step(plan, z, indices, rng);
      expect(JSON.stringify(rng.state())).toBe(state); // no draws
      const v = Array.from({ length: b }, (_, i) => normalize(Array.from(zHost.subarray(i * dim, (i + 1) * dim))));
      let expected = 0;
      v.forEach((row, i) => {
        const logits = bank.map((entry) => dot(row, entry) / temperature);
        const max = Math.max(...logits);
        const lse = max + Math.log(logits.reduce((sum, x) => sum + Math.exp(x - max), 0));
        expected += lse - (logits[batch[i] as number] as number);
      });
      expectClose(loss, expected / b);
      tf.dispose([z, indices]);
    }
    // No partition function to checkpoint.
    const saved = hooks.saveState?.() ?? {};
    expect(Object.keys(saved)).toEqual(['instdisc.bank']);
    tf.dispose(Object.values(saved).flat());
    expect(tf.memory().numTensors).toBe(before);
    plan.dispose();
  });

  it("objective 'softmax' trains one short epoch on mnist: finite loss, kNN far above chance, no leak", async () => {
    const before = tf.memory().numTensors;
    const outcome = await runRecipe(instdiscRecipe, { ...settings('short-softmax', 1), options: { objective: 'softmax' } });
    expect(tf.memory().numTensors).toBe(before);
    expect(outcome.options).toMatchObject({ temperature: 0.07, objective: 'softmax' });
    const loss = outcome.epochs[0]!.meanLoss;
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeGreaterThan(0);
    expect(outcome.learned.knnTop1).toBeGreaterThan(sizes.minTop1);
  }, SLOW_TIMEOUT);

  it('clamps the negatives to the bank size - 1 on a tiny train set, and says so', () => {
    const lines: string[] = [];
    const plan = instdiscRecipe.plan(smallContext(10, 4, {}, (line) => lines.push(line))) as RecipePlan;
    expect(lines.join('\n')).toMatch(/4096 negatives per anchor clamped to 9/);
    const z = tf.tensor2d(new Rng(0).normalArray(12), [3, 4]);
    const indices = tf.tensor1d([2, 4, 6], 'int32');
    const count = tf.tidy(() => {
      const given = (plan.hooks?.lossInput as NonNullable<TrainHooks['lossInput']>)(stepContext(z, indices, new Rng(0)));
      return given.tuples?.kind === 'pairs' ? given.tuples.negative.shape[0] : -1;
    });
    expect(count).toBe(3 * 9);
    tf.dispose([z, indices]);
    plan.dispose();
  });

  it('rejects bad options with a ContrastiveError naming the option, before allocating', () => {
    const before = tf.memory().numTensors;
    const cases: [RecipeOptions, RegExp][] = [
      [{ negatives: 0 }, /'options\.negatives' passed to 'instdiscRecipe' must be an integer >= 1, got 0/],
      [{ negatives: 2.5 }, /'options\.negatives'.*must be an integer/],
      [{ momentum: 1 }, /'options\.momentum' passed to 'instdiscRecipe' must be a finite number >= 0 and < 1, got 1/],
      [{ momentum: -0.1 }, /'options\.momentum'/],
      [{ temperature: 0 }, /'options\.temperature' passed to 'instdiscRecipe' must be a finite number > 0, got 0/],
      [{ temperature: Number.NaN }, /'options\.temperature'/],
      [{ objective: 'exact' as never }, /'options\.objective' passed to 'instdiscRecipe'/],
    ];
    for (const [options, message] of cases) expectContrastiveError(() => instdiscRecipe.plan(smallContext(20, 4, options)), 'INVALID_ARGUMENT', message);
    expect(tf.memory().numTensors).toBe(before);
    // A batch without dataset indices has no bank entry.
    const plan = instdiscRecipe.plan(smallContext(20, 4)) as RecipePlan;
    const images = tf.zeros([2, 28, 28, 1]);
    const labels = tf.tensor1d([0, 1], 'int32');
    expectContrastiveError(() => plan.views({ inputs: images, labels } as Batch, new Rng(0)), 'INVALID_ARGUMENT', /'data' passed to 'instdiscRecipe' must give each batch its dataset 'indices'/);
    tf.dispose([images, labels]);
    plan.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('--resume continues exactly: 2 epochs straight = 1 epoch + resume to 2 (bank and Z checkpointed)', async () => {
    const small = thinTest(await loadMnist({ trainLimit: sizes.resume }), sizes.testStride);
    const straight = await runRecipe(instdiscRecipe, settings('straight', 2, false, small));
    await runRecipe(instdiscRecipe, settings('resumed', 1, false, small));
    const resumed = await runRecipe(instdiscRecipe, settings('resumed', 2, true, small));
    expect(resumed.resumedFromEpoch).toBe(1);
    expect(resumed.epochs.map((epoch) => epoch.meanLoss)).toEqual(straight.epochs.map((epoch) => epoch.meanLoss));
    expect(resumed.learned.knnTop1).toBe(straight.learned.knnTop1);
  }, SLOW_TIMEOUT);
});

/** The frozen `log Z` from `saveState`. */
function frozenLogPartition(hooks: TrainHooks): number {
  const state = hooks.saveState?.() ?? {};
  const value = (state['instdisc.logPartition'] as tf.Tensor[] | undefined)?.[0]?.dataSync()[0];
  tf.dispose(Object.values(state).flat());
  if (value === undefined) throw new Error('no log Z saved');
  return value;
}
