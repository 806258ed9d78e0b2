import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADAM_KERNEL, adamKernelActive } from './backend/wasm-adam.js';
import { FusedAdamOptimizer, adam } from './optim.js';
import { useTestBackend } from './testing/index.js';

const SHAPES: number[][] = [[3, 3, 1, 32], [32], [3136, 128], [7], [33, 5], [1]];

/** Seeded values (seed 0 would mean "unseeded" to tfjs). */
const seeded = (shape: number[], std: number, seed: number): tf.Tensor => tf.randomNormal(shape, 0, std, 'float32', seed + 1);

/** Train fresh variables for `steps` steps of seeded gradients (a large one at step 3) with `make()`; their values, and the optimizer's weights. */
async function trajectory(make: () => tf.Optimizer, steps = 5, asMap = false): Promise<{ values: Float32Array[]; weights: Float32Array[] }> {
  const variables = SHAPES.map((shape, i) => tf.variable(seeded(shape, 0.1, i), true));
  const optimizer = make();
  try {
    for (let step = 0; step < steps; step++) {
      const grads = SHAPES.map((shape, i) => seeded(shape, step === 3 ? 10 : 0.01, 100 * (step + 1) + i));
      // Every second step leaves the last variable without a gradient.
      const named = variables.map((v, i) => ({ name: v.name, tensor: grads[i] as tf.Tensor })).filter((_, i) => step % 2 === 0 || i < SHAPES.length - 1);
      optimizer.applyGradients(asMap ? Object.fromEntries(named.map(({ name, tensor }) => [name, tensor])) : named);
      tf.dispose(grads);
    }
    const weights = await optimizer.getWeights();
    return { values: variables.map((v) => v.dataSync() as Float32Array), weights: weights.map((w) => w.tensor.dataSync() as Float32Array) };
  } finally {
    tf.dispose(variables);
    optimizer.dispose();
  }
}

function expectBitEqual(got: Float32Array[], expected: Float32Array[]): void {
  expect(got.length).toBe(expected.length);
  got.forEach((array, i) => {
    const other = expected[i] as Float32Array;
    expect(array.length).toBe(other.length);
    let differing = 0;
    for (let j = 0; j < array.length; j++) if (!Object.is(array[j], other[j])) differing++;
    expect(differing).toBe(0);
  });
}

describe.each(['wasm', 'cpu'] as const)('adam on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });
  afterAll(async () => {
    await useTestBackend('cpu');
  });

  it('the fused step runs on wasm only (the kernel is registered and active there)', () => {
    expect(adamKernelActive()).toBe(backend === 'wasm');
    if (backend === 'wasm') expect(tf.getKernel(ADAM_KERNEL, 'wasm')).toBeDefined();
  });

  it.each([
    ['lr 1e-3, eps 1e-8 (the recipes)', [1e-3, 0.9, 0.999, 1e-8]],
    ['defaults but lr 0.01 (backend epsilon)', [0.01]],
    ['beta 0.5 / 0.7, lr 0.3', [0.3, 0.5, 0.7, 1e-4]],
  ] as const)('values and moments equal tf.train.adam bit for bit: %s', async (_, args) => {
    const [lr, b1 = 0.9, b2 = 0.999, eps] = args as readonly number[];
    const expected = await trajectory(() => tf.train.adam(lr, b1, b2, eps));
    const got = await trajectory(() => adam(lr, b1, b2, eps));
    expectBitEqual(got.values, expected.values);
    expectBitEqual(got.weights, expected.weights);
    const viaMap = await trajectory(() => adam(lr, b1, b2, eps), 5, true);
    expectBitEqual(viaMap.values, expected.values);
  });

  it('setWeights restores a run: continuing it equals continuing tf.train.adam', async () => {
    const v = tf.variable(seeded([40], 1, 7), true, `adam-restore-${backend}`);
    const grad = seeded([40], 0.1, 8);
    try {
      const ours = adam(1e-2, 0.9, 0.999, 1e-8);
      for (let i = 0; i < 3; i++) ours.applyGradients([{ name: v.name, tensor: grad }]);
      const saved = await ours.getWeights();
      const start = v.dataSync().slice();
      const reference = tf.train.adam(1e-2, 0.9, 0.999, 1e-8);
      await reference.setWeights(saved);
      const fresh = adam(1e-2, 0.9, 0.999, 1e-8);
      await fresh.setWeights(saved);
      fresh.applyGradients([{ name: v.name, tensor: grad }]);
      const afterOurs = v.dataSync().slice();
      v.assign(tf.tensor1d(start));
      reference.applyGradients([{ name: v.name, tensor: grad }]);
      expectBitEqual([afterOurs as Float32Array], [v.dataSync() as Float32Array]);
      tf.dispose(saved.map((w) => w.tensor));
      [ours, reference, fresh].forEach((o) => o.dispose());
    } finally {
      tf.dispose([v, grad]);
    }
  });

  it('minimize() trains through it and leaves no tensor behind', () => {
    const w = tf.variable(tf.tensor1d([1, -2, 3]), true, `adam-minimize-${backend}`);
    const optimizer = adam(0.1);
    optimizer.minimize(() => tf.sum(tf.square(w)) as tf.Scalar); // creates the two moment variables
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) optimizer.minimize(() => tf.sum(tf.square(w)) as tf.Scalar);
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(w.dataSync()).every((x, i) => Math.abs(x) < Math.abs([1, -2, 3][i] as number))).toBe(true);
    optimizer.dispose();
    w.dispose();
  });

  it('is a tf.AdamOptimizer that serializes as Adam', () => {
    const optimizer = adam(1e-3);
    expect(optimizer).toBeInstanceOf(tf.AdamOptimizer);
    expect(optimizer).toBeInstanceOf(FusedAdamOptimizer);
    expect(optimizer.getClassName()).toBe('Adam');
    expect(optimizer.getConfig()).toMatchObject({ learningRate: 1e-3, beta1: 0.9, beta2: 0.999 });
    optimizer.dispose();
  });
});
