/**
 * Test support (not built, not published): small helpers shared by the loss test files.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { Rng } from '@contrastive/core';
import type { Loss } from '@contrastive/core';
import type { Rows } from './golden.js';

export type { Rows } from './golden.js';

/** `n` rows of `d` standard normals from `rng`, times `scale`. */
export function randomRows(rng: Rng, n: number, d: number, scale = 1): Rows {
  const values = rng.normalArray(n * d);
  return Array.from({ length: n }, (_, i) => Array.from(values.subarray(i * d, (i + 1) * d), (x) => x * scale));
}

export const int32 = (values: number[]): tf.Tensor1D => tf.tensor1d(values, 'int32');
export const scalarValue = (tensor: tf.Tensor): number => tensor.dataSync()[0] as number;
export const allFinite = (tensor: tf.Tensor): boolean => Array.from(tensor.dataSync()).every(Number.isFinite);

/** Labels `i % classes` for `i < n`, as int32. */
export const cyclicLabels = (n: number, classes: number): tf.Tensor1D => int32(Array.from({ length: n }, (_, i) => i % classes));

export interface TrainOptions {
  /** Rows of the trained variable: `randomRows(new Rng(seed), n, d, scale)`. */
  readonly seed?: number;
  readonly n?: number;
  readonly d?: number;
  readonly scale?: number;
  /** The labels of the `n` rows. */
  readonly labels: (n: number) => tf.Tensor1D;
  readonly optimizer: () => tf.Optimizer;
  /** Steps after the first one. */
  readonly steps: number;
  /** The last loss must be below `first * factor`. */
  readonly factor: number;
}

/** Minimizes `loss` over a variable: the loss falls below `first * factor`, and no tensor is leaked per step. */
export function expectTrainsUnderMinimize(loss: Loss, options: TrainOptions): void {
  const { seed = 51, n = 16, d = 8, scale = 1 } = options;
  const variable = tf.variable(tf.tensor2d(randomRows(new Rng(seed), n, d, scale)));
  const labels = options.labels(n);
  const optimizer = options.optimizer();
  const step = (): number => {
    const cost = optimizer.minimize(() => loss.compute({ embeddings: variable, labels }), true, [variable]);
    const value = scalarValue(cost as tf.Scalar);
    cost?.dispose();
    return value;
  };
  const first = step();
  const before = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < options.steps; i++) last = step();
  expect(tf.memory().numTensors).toBe(before);
  expect(last).toBeLessThan(first * options.factor);
  optimizer.dispose();
  tf.dispose([variable, labels]);
}

export interface LargeBatchOptions {
  readonly n: number;
  readonly d: number;
  /** Standard deviation of the random rows (seed 61 unless given). */
  readonly stddev?: number;
  readonly seed?: number;
  readonly labels: (n: number) => tf.Tensor1D;
}

/** A large random batch gives a finite value and a finite gradient. */
export function expectFiniteLargeBatch(loss: Loss, options: LargeBatchOptions): void {
  const { n, d, stddev = 1, seed = 61 } = options;
  const x = tf.randomNormal([n, d], 0, stddev, 'float32', seed) as tf.Tensor2D;
  const y = options.labels(n);
  const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
  expect(allFinite(value) && allFinite(grad)).toBe(true);
  tf.dispose([x, y, value, grad]);
}
