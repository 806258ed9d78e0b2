import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, Rng, convEncoder, l2Normalize, projectionHead, train } from '@contrastive/core';
import type { BatchSource, Encoder, TrainHooks, ViewGenerator } from '@contrastive/core';
import { useTestBackend } from '@contrastive/core/testing';
import { recipeAugmentation } from '@contrastive/augment';
import { loadMnist, toTensors } from '@contrastive/data';
import type { ImageDataset } from '@contrastive/data';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createProgress } from '../progress.js';
import { MOCO_KEY_ENCODER_STATE, MOCO_QUEUE_STATE, mocoRecipe } from './moco.js';
import type { RecipeContext, RecipeOptions } from './recipe.js';
import { runRecipe } from './run-recipe.js';
import type { RecipeSettings } from './run-recipe.js';
import { strided } from './recipes.test.helpers.js';

/**
 * Sizes of the `runRecipe` runs. On wasm: 256 train images, batches of 64 (4 steps per epoch), the
 * whole test split for the short run and every 4th test image for the resume runs. On the plain cpu
 * backend a gradient step of the CNN costs ~0.9 s of CPU per view (tfjs-backend-cpu's conv
 * backprop), so there: 32 train images in batches of 4 (8 steps; small steps keep the worker's
 * event loop from blocking for a minute on a loaded machine) and every 20th test image.
 */
interface Scale {
  readonly trainLimit: number;
  readonly batchSize: number;
  readonly shortTestStride: number;
  readonly resumeTestStride: number;
}
const SCALES: Readonly<Record<'wasm' | 'cpu', Scale>> = {
  wasm: { trainLimit: 256, batchSize: 64, shortTestStride: 1, resumeTestStride: 4 },
  cpu: { trainLimit: 32, batchSize: 4, shortTestStride: 20, resumeTestStride: 20 },
};

/**
 * Per-test timeout: vitest.config's 120 s on wasm; generous on the plain cpu backend, whose runs
 * take minutes of CPU (and more on a loaded machine).
 */
const TIMEOUT = process.env['CONTRASTIVE_TEST_BACKEND'] === 'cpu' ? 1_800_000 : 120_000;

let scale: Scale;
let dataset: ImageDataset;
/** The same train split with a strided test split (all classes): a cheaper evaluation. */
let shortData: ImageDataset;
let resumeData: ImageDataset;
let out: string;

beforeAll(async () => {
  scale = SCALES[await useTestBackend()];
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  dataset = await loadMnist({ trainLimit: scale.trainLimit });
  shortData = { ...dataset, test: strided(dataset.test, scale.shortTestStride) };
  resumeData = { ...dataset, test: strided(dataset.test, scale.resumeTestStride) };
  out = await mkdtemp(join(tmpdir(), 'contrastive-moco-'));
});

afterAll(async () => {
  vi.restoreAllMocks();
  await rm(out, { recursive: true, force: true });
});

function settings(name: string, epochs: number, options: RecipeOptions, data: ImageDataset, resume = false): RecipeSettings {
  return {
    dataset: data,
    flip: false,
    epochs,
    batchSize: scale.batchSize,
    seed: 0,
    learningRate: 1e-3,
    options,
    probe: 'adam',
    baselines: false,
    runDir: join(out, name),
    resume,
    progress: createProgress({ quiet: true }),
  };
}

/** Host float64 copy of a tensor's values. */
function host(tensor: tf.Tensor): Float64Array {
  return Float64Array.from(tensor.dataSync());
}

/** Row `r` of a `[rows, d]` host matrix, L2-normalised in float64. */
function unitRow(values: ArrayLike<number>, r: number, d: number): Float64Array {
  const row = new Float64Array(d);
  let squares = 0;
  for (let j = 0; j < d; j++) {
    row[j] = values[r * d + j] as number;
    squares += (row[j] as number) ** 2;
  }
  const norm = Math.sqrt(squares);
  for (let j = 0; j < d; j++) row[j] = (row[j] as number) / norm;
  return row;
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let j = 0; j < a.length; j++) sum += (a[j] as number) * (b[j] as number);
  return sum;
}

/**
 * MoCo's loss written from the paper, in float64: query i (rows 0..N-1 view 1, N..2N-1 view 2) against
 * its positive key (the other view's key) and the K queue keys, cosine similarities over τ, mean
 * cross-entropy over the 2N queries.
 */
function hostMocoLoss(
  queries: ArrayLike<number>,
  keys: ArrayLike<number>,
  queue: ArrayLike<number>,
  shape: { rows: number; size: number; d: number; tau: number; inBatchNegatives?: boolean },
): number {
  const { rows, size, d, tau } = shape;
  const half = rows / 2;
  const queueRows = Array.from({ length: size }, (_, j) => unitRow(queue, j, d));
  const keyRows = Array.from({ length: rows }, (_, j) => unitRow(keys, j, d));
  let total = 0;
  for (let i = 0; i < rows; i++) {
    const q = unitRow(queries, i, d);
    const target = (i + half) % rows;
    const positive = dot(q, keyRows[target]!) / tau;
    // The variant with in-batch negatives (every other key of the step too) is only used to show the test tells them apart.
    const inBatch = shape.inBatchNegatives === true ? keyRows.filter((_, j) => j !== target).map((key) => dot(q, key) / tau) : [];
    const logits = [positive, ...inBatch, ...queueRows.map((key) => dot(q, key) / tau)];
    const max = Math.max(...logits);
    const lse = max + Math.log(logits.reduce((sum, value) => sum + Math.exp(value - max), 0));
    total += lse - positive;
  }
  return total / rows;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

describe('mocoRecipe', () => {
  it('trains one short epoch through runRecipe: finite losses, kNN well above chance, no leak', async () => {
    const before = tf.memory().numTensors;
    const outcome = await runRecipe(mocoRecipe, settings('short', 1, {}, shortData));
    expect(tf.memory().numTensors).toBe(before);
    expect(outcome.options).toMatchObject({ temperature: 0.2, momentum: 0.99, queueSize: 4096 });
    expect(outcome.epochs).toHaveLength(1);
    const loss = outcome.epochs[0]!.meanLoss;
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeGreaterThan(0);
    expect(loss).toBeLessThan(2 / 0.2 + Math.log(4097)); // cosines in [-1, 1]: at most 2/τ + log(K + 1)
    expect(outcome.learned.knnTop1).toBeGreaterThan(0.3);
    expect(outcome.learned.linearAdamTop1).toBeGreaterThan(0.3);
    console.info(`moco 1 epoch (${scale.trainLimit} images, batch ${scale.batchSize}, K 4096, ${shortData.test.count} test): loss ${loss.toFixed(4)}, kNN ${outcome.learned.knnTop1}, linear ${outcome.learned.linearAdamTop1}`);
  }, TIMEOUT);

  it('--resume (1 epoch, then resume to 2) gives the losses of 2 straight epochs: key encoder and queue are checkpointed', async () => {
    // K = 3 steps of keys (384 on wasm): after epoch 1 (4 steps on wasm, 8 on cpu) the queue has
    // wrapped and its pointer is not 0, so the checkpoint must carry the keys, the labels and the pointer.
    const keysPerStep = 2 * scale.batchSize;
    const options = { queueSize: 3 * keysPerStep };
    const steps = Math.floor(dataset.train.count / scale.batchSize);
    expect(steps * keysPerStep).toBeGreaterThan(options.queueSize);
    expect((steps * keysPerStep) % options.queueSize).not.toBe(0);
    const straight = await runRecipe(mocoRecipe, settings('straight', 2, options, resumeData));
    await runRecipe(mocoRecipe, settings('resumed', 1, options, resumeData));
    const resumed = await runRecipe(mocoRecipe, settings('resumed', 2, options, resumeData, true));
    expect(resumed.resumedFromEpoch).toBe(1);
    expect(straight.epochs).toHaveLength(2);
    expect(resumed.epochs.map((epoch) => epoch.meanLoss)).toEqual(straight.epochs.map((epoch) => epoch.meanLoss));
    expect(resumed.learned.knnTop1).toBe(straight.learned.knnTop1);
    expect(resumed.learned.linearAdamTop1).toBe(straight.learned.linearAdamTop1);
  }, TIMEOUT);

  describe('mechanics (3 steps of 4 images, K = 16 = 2 steps of keys)', () => {
    const batchSize = 4;
    const rows = 2 * batchSize;
    const size = 16;
    const momentum = 0.9;
    const temperature = 0.2;
    const dim = 64;

    interface StepRecord {
      inputs: tf.Tensor;
      queryBefore: tf.Tensor[];
      keyBefore: tf.Tensor[];
      queueBefore: tf.Tensor[];
      queryAfter: tf.Tensor[];
      keyAfter: tf.Tensor[];
      queueAfter: tf.Tensor[];
    }

    let records: StepRecord[] = [];
    let losses: readonly number[] = [];
    let encoder: Encoder;
    let head: Encoder;
    let leaked = 0;

    function context(options: RecipeOptions, tensors: RecipeContext['train']): RecipeContext {
      return {
        dataset,
        train: tensors,
        encoder,
        head,
        options: { ...mocoRecipe.defaults, ...options, strength: 0.5 },
        augmentation: recipeAugmentation({ flip: false, strength: 0.5 }),
        batchSize,
        epochs: 1,
        seed: 0,
        rng: new Rng(1),
        progress: createProgress({ quiet: true }),
      };
    }

    /** The key (or query) network with the given weights (encoder's, then head's) applied to `inputs`: `[rows, 64]`. */
    function forward(weights: readonly tf.Tensor[], inputs: tf.Tensor, normalize: boolean): Float64Array {
      const count = encoder.model.weights.length;
      const probeEncoder = encoder.clone();
      const probeHead = head.clone();
      try {
        probeEncoder.setWeights(weights.slice(0, count));
        probeHead.setWeights(weights.slice(count));
        const result = tf.tidy(() => {
          const z = probeHead.apply(probeEncoder.apply(inputs));
          return normalize ? l2Normalize(z) : z;
        });
        const values = host(result);
        result.dispose();
        return values;
      } finally {
        probeEncoder.dispose();
        probeHead.dispose();
      }
    }

    beforeAll(async () => {
      const rng = new Rng(3);
      encoder = convEncoder({ inputShape: [28, 28, 1], rng });
      head = projectionHead({ inputDim: 128, hiddenDim: 128, outputDim: dim, rng });
      const before = tf.memory().numTensors;
      const tensors = toTensors(dataset.train);
      const plan = await mocoRecipe.plan(context({ queueSize: size, momentum, temperature }, tensors));
      const hooks = plan.hooks as Required<TrainHooks>;
      const weights = (): tf.Tensor[] => [...encoder.getWeights(), ...head.getWeights()];
      const data: BatchSource = {
        stepsPerEpoch: 3,
        batch: (_epoch, step) =>
          tf.tidy(() => ({
            inputs: tf.slice(tensors.images, [step * batchSize, 0, 0, 0], [batchSize, -1, -1, -1]),
            labels: tf.slice(tensors.labels, [step * batchSize], [batchSize]),
          })),
      };
      const views: ViewGenerator = async (batch, viewRng) => {
        const made = await plan.views(batch, viewRng);
        const state = hooks.saveState();
        records.push({
          inputs: tf.clone(made.inputs),
          queryBefore: weights(),
          keyBefore: state[MOCO_KEY_ENCODER_STATE]!,
          queueBefore: state[MOCO_QUEUE_STATE]!,
          queryAfter: [],
          keyAfter: [],
          queueAfter: [],
        });
        return made;
      };
      const wrapped: TrainHooks = {
        lossInput: hooks.lossInput,
        afterStep: async (step) => {
          const record = records[records.length - 1]!;
          record.queryAfter = weights();
          await hooks.afterStep(step);
          const state = hooks.saveState();
          record.keyAfter = state[MOCO_KEY_ENCODER_STATE]!;
          record.queueAfter = state[MOCO_QUEUE_STATE]!;
        },
      };
      const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
      try {
        const result = await train({ encoder, head, data, views, loss: plan.loss, hooks: wrapped, optimizer, epochs: 1, seed: 5 });
        losses = result.epochs[0]!.losses;
      } finally {
        plan.dispose();
        optimizer.dispose();
        tf.dispose([tensors.images, tensors.labels]);
      }
      const recorded = records.reduce(
        (sum, record) =>
          sum + 1 + [record.queryBefore, record.keyBefore, record.queueBefore, record.queryAfter, record.keyAfter, record.queueAfter].reduce((n, list) => n + list.length, 0),
        0,
      );
      leaked = tf.memory().numTensors - before - recorded;
    }, TIMEOUT);

    afterAll(() => {
      for (const record of records) {
        tf.dispose([record.inputs, ...record.queryBefore, ...record.keyBefore, ...record.queueBefore, ...record.queryAfter, ...record.keyAfter, ...record.queueAfter]);
      }
      records = [];
      encoder.dispose();
      head.dispose();
    });

    it('runs 3 steps without leaking (plan.dispose frees key encoder and queue)', () => {
      expect(records).toHaveLength(3);
      expect(losses).toHaveLength(3);
      expect(leaked).toBe(0);
    });

    it('(a) after every step the key weights are m · old key + (1 − m) · new query weights (float64, 1e-6)', () => {
      for (const record of records) {
        expect(record.keyAfter).toHaveLength(record.queryAfter.length);
        let moved = 0;
        record.keyAfter.forEach((keyAfter, j) => {
          const old = host(record.keyBefore[j]!);
          const query = host(record.queryAfter[j]!);
          const expected = old.map((value, i) => momentum * value + (1 - momentum) * (query[i] as number));
          expect(maxAbsDiff(host(keyAfter), expected)).toBeLessThan(1e-6);
          moved = Math.max(moved, maxAbsDiff(host(keyAfter), old));
        });
        expect(moved).toBeGreaterThan(1e-5); // the update did happen (it is not the identity)
      }
      // Before the first step the key encoder is a copy of the query encoder.
      records[0]!.keyBefore.forEach((key, j) => expect(maxAbsDiff(host(key), host(records[0]!.queryBefore[j]!))).toBe(0));
    });

    it('(b) the queue holds the step keys (key encoder before the update, normalised, view 1 then view 2) FIFO, the oldest dropped', () => {
      const keys = records.map((record) => forward(record.keyBefore, record.inputs, true));
      const queueOf = (state: tf.Tensor[]): Float64Array => host(state[0]!);
      const metaOf = (state: tf.Tensor[]): number[] => Array.from(state[2]!.dataSync());
      const initial = queueOf(records[0]!.queueBefore);
      // Random unit start (MoCo's normalize(randn)), full: pointer 0, length K.
      for (let r = 0; r < size; r++) expect(Math.hypot(...initial.subarray(r * dim, (r + 1) * dim))).toBeCloseTo(1, 5);
      expect(metaOf(records[0]!.queueBefore).slice(0, 2)).toEqual([0, size]);
      const slots = (queue: Float64Array, first: number, count: number): Float64Array => queue.slice(first * dim, (first + count) * dim);
      const [k0, k1, k2] = keys as [Float64Array, Float64Array, Float64Array];
      const after = records.map((record) => queueOf(record.queueAfter));
      // Step 0: slots 0..7 = its keys, 8..15 still the random start.
      expect(maxAbsDiff(slots(after[0]!, 0, rows), k0)).toBeLessThan(1e-5);
      expect(maxAbsDiff(slots(after[0]!, rows, rows), slots(initial, rows, rows))).toBe(0);
      expect(metaOf(records[0]!.queueAfter).slice(0, 2)).toEqual([rows, size]);
      // Step 1: slots 8..15 = its keys; step 0's keys kept.
      expect(maxAbsDiff(slots(after[1]!, 0, rows), k0)).toBeLessThan(1e-5);
      expect(maxAbsDiff(slots(after[1]!, rows, rows), k1)).toBeLessThan(1e-5);
      expect(metaOf(records[1]!.queueAfter).slice(0, 2)).toEqual([0, size]);
      // Step 2: wraps, overwriting the oldest (step 0's) keys; step 1's stay.
      expect(maxAbsDiff(slots(after[2]!, 0, rows), k2)).toBeLessThan(1e-5);
      expect(maxAbsDiff(slots(after[2]!, rows, rows), k1)).toBeLessThan(1e-5);
      expect(maxAbsDiff(slots(after[2]!, 0, rows), k0)).toBeGreaterThan(1e-3);
      expect(metaOf(records[2]!.queueAfter).slice(0, 2)).toEqual([rows, size]);
      // The queue of a step is the one the next step starts with (nothing else writes to it).
      expect(maxAbsDiff(queueOf(records[1]!.queueBefore), after[0]!)).toBe(0);
    });

    it('(c) each step loss equals a float64 InfoNCE of q (query net), k (key net, other view) and the queue before the step', () => {
      records.forEach((record, s) => {
        const queries = forward(record.queryBefore, record.inputs, false);
        const keys = forward(record.keyBefore, record.inputs, true);
        const queue = host(record.queueBefore[0]!);
        const shape = { rows, size, d: dim, tau: temperature };
        const expected = hostMocoLoss(queries, keys, queue, shape);
        expect(Math.abs(losses[s]! - expected)).toBeLessThan(1e-5 + 1e-4 * expected);
        // The tolerance separates MoCo's form from the in-batch-negatives form (MoCo v3 / CLIP-like).
        const inBatch = hostMocoLoss(queries, keys, queue, { ...shape, inBatchNegatives: true });
        expect(Math.abs(losses[s]! - inBatch)).toBeGreaterThan(100 * (1e-5 + 1e-4 * expected));
      });
    });

    it('refuses to resume (epoch > 0) without MoCo state, e.g. from another recipe\'s checkpoint', async () => {
      const tensors = { images: tf.zeros([1, 28, 28, 1]) as tf.Tensor4D, labels: tf.zeros([1], 'int32') as tf.Tensor1D };
      const before = tf.memory().numTensors;
      const fresh = await mocoRecipe.plan(context({ queueSize: size }, tensors));
      const restored = await mocoRecipe.plan(context({ queueSize: size }, tensors));
      try {
        expect(() => fresh.beginEpoch?.(1)).toThrow(/without MoCo state/);
        const state = restored.hooks!.saveState!();
        restored.hooks!.loadState!(state);
        tf.dispose(Object.values(state).flat());
        expect(() => restored.beginEpoch?.(1)).not.toThrow();
        expect(() => restored.hooks!.loadState!({})).toThrow(/'moco\.keyEncoder' and 'moco\.queue'/);
      } finally {
        fresh.dispose();
        restored.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([tensors.images, tensors.labels]);
    });

    it('throws ContrastiveError naming options.queueSize / options.momentum before building anything', async () => {
      const tensors = { images: tf.zeros([1, 28, 28, 1]) as tf.Tensor4D, labels: tf.zeros([1], 'int32') as tf.Tensor1D };
      try {
        const before = tf.memory().numTensors;
        const cases: [RecipeOptions, RegExp][] = [
          [{ queueSize: 2 * batchSize - 1 }, /'options\.queueSize'.*>= 8, got 7/],
          [{ queueSize: 20.5 }, /'options\.queueSize'.*integer/],
          [{ momentum: 1 }, /'options\.momentum'.*< 1, got 1/],
          [{ momentum: -0.1 }, /'options\.momentum'/],
          [{ temperature: 0 }, /'options\.temperature'/],
        ];
        for (const [options, message] of cases) {
          let thrown: unknown;
          try {
            await mocoRecipe.plan(context(options, tensors));
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBeInstanceOf(ContrastiveError);
          expect((thrown as ContrastiveError).code).toBe('INVALID_ARGUMENT');
          expect((thrown as ContrastiveError).message).toMatch(message);
        }
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        tf.dispose([tensors.images, tensors.labels]);
      }
    });
  });
});
