import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { mlpEncoder, projectionHead } from './encoders.js';
import type { Encoder } from './encoders.js';
import { MomentumEncoder } from './momentum.js';
import { expectNoLeak, expectTensorClose, useTestBackend, expectContrastiveError } from './testing/index.js';

beforeAll(async () => {
  await useTestBackend();
});

function values(tensors: tf.Tensor[]): number[][] {
  const out = tensors.map((tensor) => Array.from(tensor.dataSync()));
  tf.dispose(tensors);
  return out;
}

function makePair(): { encoder: Encoder; head: Encoder } {
  return {
    encoder: mlpEncoder({ inputDim: 4, hiddenDims: [6], outputDim: 5, seed: 1 }),
    head: projectionHead({ inputDim: 5, hiddenDim: 5, outputDim: 3, seed: 2 }),
  };
}

describe('MomentumEncoder (MoCo key encoder)', () => {
  it('starts as a frozen copy of the query encoder and head', () => {
    const { encoder, head } = makePair();
    const key = new MomentumEncoder(encoder, { head });
    expect(key.momentum).toBe(0.999);
    expect(key.encoder.trainableVariables).toHaveLength(0);
    expect(key.head?.trainableVariables).toHaveLength(0);
    expect(encoder.trainableVariables).toHaveLength(4);
    const x = tf.randomNormal([3, 4], 0, 1, 'float32', 7);
    const keys = key.apply(x);
    const queries = tf.tidy(() => head.apply(encoder.apply(x)));
    expect(keys.shape).toEqual([3, 3]);
    expectTensorClose(keys, queries, { atol: 0, rtol: 0 });
    tf.dispose([x, keys, queries]);
    key.dispose();
    encoder.dispose();
    head.dispose();
  });

  it('update(m) sets key = m * key + (1 - m) * query for every weight', () => {
    const { encoder, head } = makePair();
    const key = new MomentumEncoder(encoder, { head, momentum: 0.9 });
    const before = values(key.getWeights());
    // Move the query: new random weights.
    const moved = mlpEncoder({ inputDim: 4, hiddenDims: [6], outputDim: 5, seed: 9 });
    const movedHead = projectionHead({ inputDim: 5, hiddenDim: 5, outputDim: 3, seed: 10 });
    const newWeights = [...moved.getWeights(), ...movedHead.getWeights()];
    encoder.setWeights(newWeights.slice(0, 4));
    head.setWeights(newWeights.slice(4));
    const query = values(newWeights);
    key.update();
    const after = values(key.getWeights());
    after.forEach((weight, i) => {
      const expected = (before[i] as number[]).map((k, j) => 0.9 * k + 0.1 * ((query[i] as number[])[j] as number));
      expectTensorClose(tf.tensor(weight), expected, { atol: 1e-7, rtol: 1e-6 });
    });
    // The query is untouched by the update.
    values([...encoder.getWeights(), ...head.getWeights()]).forEach((weight, i) => expect(weight).toEqual(query[i]));
    key.update(0); // copy
    values(key.getWeights()).forEach((weight, i) => expect(weight).toEqual(query[i]));
    const snapshot = values(key.getWeights());
    const copies = moved.getWeights();
    const doubled = copies.map((weight) => tf.mul(weight, 2));
    encoder.setWeights(doubled);
    tf.dispose([...copies, ...doubled]);
    key.update(1); // no change
    values(key.getWeights()).forEach((weight, i) => expect(weight).toEqual(snapshot[i]));
    for (const item of [key, encoder, head, moved, movedHead]) item.dispose();
  });

  it('update, apply and get/setWeights leak no tensors', async () => {
    const { encoder, head } = makePair();
    const key = new MomentumEncoder(encoder, { head, momentum: 0.5 });
    await expectNoLeak(() => {
      for (let i = 0; i < 5; i++) key.update();
    });
    const x = tf.ones([2, 4]);
    const y = await expectNoLeak(() => key.apply(x), 1);
    await expectNoLeak(() => {
      const weights = key.getWeights();
      key.setWeights(weights);
      tf.dispose(weights);
    });
    tf.dispose([x, y]);
    await expectNoLeak(() => {
      const other = new MomentumEncoder(encoder);
      other.dispose();
    });
    key.dispose();
    encoder.dispose();
    head.dispose();
  });

  it('receives no gradient: the key weights are not trainable variables', () => {
    const { encoder } = makePair();
    const key = new MomentumEncoder(encoder);
    const x = tf.ones([2, 4]);
    const { value, grads } = tf.variableGrads(() =>
      tf.add(tf.sum(encoder.apply(x)), tf.sum(key.apply(x))) as tf.Scalar,
    );
    const names = new Set(encoder.trainableVariables.map((variable) => variable.name));
    for (const name of Object.keys(grads)) expect(names.has(name)).toBe(true);
    tf.dispose([x, value, ...Object.values(grads)]);
    key.dispose();
    encoder.dispose();
  });

  it('validates the momentum and its state', () => {
    const { encoder, head } = makePair();
    expectContrastiveError(() => new MomentumEncoder(encoder, { momentum: 1.5 }), 'INVALID_ARGUMENT', /Argument 'momentum' passed to 'MomentumEncoder' must be a finite number >= 0 and <= 1, got 1.5/);
    const key = new MomentumEncoder(encoder);
    expectContrastiveError(() => key.update(-0.1), 'INVALID_ARGUMENT', /'momentum' passed to 'MomentumEncoder.update'/);
    const weights = key.getWeights();
    expectContrastiveError(() => key.setWeights(weights.slice(1)), 'SHAPE_MISMATCH', /must hold 4 tensors, got 3/);
    tf.dispose(weights);
    encoder.dispose();
    expectContrastiveError(() => key.update(), 'STATE', /query encoder, which was disposed/);
    key.dispose();
    expectContrastiveError(() => key.update(), 'STATE', /'MomentumEncoder.update' was called after dispose\(\)/);
    head.dispose();
  });
});
