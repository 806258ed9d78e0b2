/**
 * Determinism of training: the same seed on the same backend gives bit-identical step losses and
 * weights over 100 training steps (MLP encoder + head, an inline InfoNCE / NT-Xent loss, Adam,
 * seeded batches and views), on wasm and on cpu. The two backends are compared too, but only
 * reported: their float32 kernels round differently.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { mlpEncoder, projectionHead } from './encoders.js';
import { l2Normalize } from './math.js';
import { Rng } from './rng.js';
import { useTestBackend } from './testing/index.js';
import { train } from './train.js';
import type { Batch, BatchSource } from './train.js';
import type { Loss } from './types.js';

const STEPS = 100;
const STEPS_PER_EPOCH = 10;
const TEMPERATURE = 0.2;

/**
 * InfoNCE over two views (NT-Xent, Chen et al. 2020) written with tf ops: the positive of each row
 * is the other view of its sample (equal label), every other row is a negative.
 */
const infoNce: Loss = {
  name: 'info-nce-inline',
  compute: ({ embeddings, labels }) =>
    tf.tidy(() => {
      const z = l2Normalize(embeddings);
      const n = z.shape[0];
      const eye = tf.eye(n);
      const logits = tf.sub(tf.div(tf.matMul(z, tf.transpose(z)), TEMPERATURE), tf.mul(eye, 1e9));
      const logProb = tf.sub(logits, tf.logSumExp(logits, 1, true));
      const positives = tf.sub(tf.cast(tf.equal(tf.expandDims(labels, 1), tf.expandDims(labels, 0)), 'float32'), eye);
      return tf.neg(tf.mean(tf.div(tf.sum(tf.mul(positives, logProb), 1), tf.maximum(tf.sum(positives, 1), 1)))) as tf.Scalar;
    }),
};

/** 256 points in 12 dimensions; each step draws 16 of them with the loop's generator. */
function source(): BatchSource {
  const points = new Rng(123).normalArray(256 * 12);
  return {
    stepsPerEpoch: STEPS_PER_EPOCH,
    batch(_epoch, _step, rng): Batch {
      const indices = rng.choice(256, 16);
      const values = new Float32Array(16 * 12);
      indices.forEach((index, row) => values.set(points.subarray(index * 12, index * 12 + 12), row * 12));
      return { inputs: tf.tensor2d(values, [16, 12]), labels: tf.tensor1d(Array.from({ length: 16 }, (_, i) => i), 'int32') };
    },
  };
}

/** Two views per sample (view-major): the batch plus seeded Gaussian noise, and a random scaling. */
function views(batch: Batch, rng: Rng): Batch {
  const n = batch.inputs.shape[0] as number;
  const noise = tf.tensor2d(rng.normalArray(2 * batch.inputs.size, 0, 0.2), [2 * n, 12]);
  const scale = tf.tensor2d(rng.uniformArray(2 * n, 0.8, 1.2), [2 * n, 1]);
  const out = tf.tidy(() => ({
    inputs: tf.mul(tf.add(tf.concat([batch.inputs, batch.inputs], 0), noise), scale),
    labels: tf.concat([batch.labels, batch.labels], 0) as tf.Tensor1D,
  }));
  tf.dispose([noise, scale]);
  return out;
}

interface RunResult {
  readonly losses: number[];
  readonly weights: Float32Array[];
}

async function run(seed: number, steps = STEPS): Promise<RunResult> {
  const encoder = mlpEncoder({ inputDim: 12, hiddenDims: [32], outputDim: 16, seed });
  const head = projectionHead({ inputDim: 16, hiddenDim: 16, outputDim: 8, seed: seed + 1 });
  const optimizer = tf.train.adam(3e-3, 0.9, 0.999, 1e-8);
  try {
    const result = await train({
      encoder,
      head,
      data: source(),
      views,
      loss: infoNce,
      optimizer,
      epochs: steps / STEPS_PER_EPOCH,
      seed,
    });
    const tensors = [...encoder.getWeights(), ...head.getWeights()];
    const weights = tensors.map((tensor) => tensor.dataSync() as Float32Array);
    tf.dispose(tensors);
    return { losses: result.epochs.flatMap(({ losses }) => losses), weights };
  } finally {
    optimizer.dispose();
    encoder.dispose();
    head.dispose();
  }
}

/** The float32 bit patterns of `values` (so that -0, NaN payloads and 1 ulp all count). */
function bits(values: ArrayLike<number>): number[] {
  return Array.from(new Uint32Array(Float32Array.from(values).buffer));
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

const results = new Map<'wasm' | 'cpu', RunResult>();

describe('training is deterministic per backend (100 steps, same seed)', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`${backend}: two runs with seed 7 give bit-identical losses and weights; seed 8 differs`, async () => {
      await useTestBackend(backend);
      const first = await run(7);
      const second = await run(7);
      expect(first.losses).toHaveLength(STEPS);
      expect(first.losses.every(Number.isFinite)).toBe(true);
      expect(bits(second.losses)).toEqual(bits(first.losses));
      expect(second.weights.map(bits)).toEqual(first.weights.map(bits));
      // The loss is learnt, not constant: the last ten steps are below the first ten.
      const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
      expect(mean(first.losses.slice(-10))).toBeLessThan(mean(first.losses.slice(0, 10)));
      const other = await run(8, STEPS_PER_EPOCH);
      expect(bits(other.losses)).not.toEqual(bits(first.losses.slice(0, STEPS_PER_EPOCH)));
      results.set(backend, first);
    });
  }

  it('wasm vs cpu: reports where the backends differ (not asserted equal)', () => {
    const wasm = results.get('wasm');
    const cpu = results.get('cpu');
    expect(wasm).toBeDefined();
    expect(cpu).toBeDefined();
    if (wasm === undefined || cpu === undefined) return;
    const firstDifferent = wasm.losses.findIndex((value, i) => Math.fround(value) !== Math.fround(cpu.losses[i] as number));
    const lossDifference = maxAbsDifference(wasm.losses, cpu.losses);
    const weightDifference = Math.max(...wasm.weights.map((weights, i) => maxAbsDifference(weights, cpu.weights[i] as Float32Array)));
    const identicalLosses = wasm.losses.filter((value, i) => value === cpu.losses[i]).length;
    console.info(
      `[determinism] wasm vs cpu over ${STEPS} steps: max |loss difference| ${lossDifference.toExponential(3)}, ` +
        `first differing step ${firstDifferent}, ${identicalLosses}/${STEPS} losses bit-identical, ` +
        `max |weight difference| ${weightDifference.toExponential(3)}`,
    );
    expect(Number.isFinite(lossDifference) && Number.isFinite(weightDifference)).toBe(true);
  });
});
