import * as tf from '@tensorflow/tfjs-core';
import { expectContrastiveError, expectNoLeak, expectTensorClose, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { avgNonZeroReducer, meanReducer, perAnchorReducer, sumReducer, thresholdReducer } from './reducers.js';

beforeAll(async () => {
  await useTestBackend();
});

const embeddings = () => tf.tensor2d([[1, 2], [3, 4]]);

describe('reducers', () => {
  it.each([
    ['mean', meanReducer(), [1, 0, 2, 5], 2],
    ['sum', sumReducer(), [1, 0, 2, 5], 8],
    ['avgNonZero', avgNonZeroReducer(), [1, 0, 2, 0], 1.5],
    ['threshold low', thresholdReducer({ low: 1 }), [1, 0, 2, 5], 3.5],
    ['threshold high', thresholdReducer({ high: 2 }), [1, 0, 2, 5], 0.5],
    ['threshold both', thresholdReducer({ low: 0, high: 5 }), [1, 0, 2, 5], 1.5],
  ] as const)('%s', (_name, reducer, values, expected) => {
    const x = embeddings();
    const losses = tf.tensor1d([...values]);
    const value = reducer.reduce({ losses }, x);
    expectTensorClose(value, expected);
    tf.dispose([x, losses, value]);
  });

  it('per anchor: aggregate by anchor (sum or mean), then reduce over all anchors', () => {
    const x = embeddings();
    const losses = tf.tensor1d([1, 3, 2]);
    const anchors = tf.tensor1d([0, 0, 2], 'int32');
    const sum = perAnchorReducer().reduce({ losses, anchors, numAnchors: 4 }, x);
    expectTensorClose(sum, (4 + 0 + 2 + 0) / 4);
    const mean = perAnchorReducer({ aggregation: 'mean', reducer: sumReducer() }).reduce({ losses, anchors, numAnchors: 4 }, x);
    expectTensorClose(mean, 2 + 2);
    tf.dispose([x, losses, anchors, sum, mean]);
  });

  it('nothing to reduce gives a connected zero with zero gradients', () => {
    const x = embeddings();
    for (const reducer of [meanReducer(), sumReducer(), avgNonZeroReducer(), thresholdReducer({ low: 10 }), perAnchorReducer()]) {
      const { value, grads } = tf.valueAndGrads((e: tf.Tensor) => {
        const losses = reducer.name === 'thresholdReducer' ? tf.sum(e, 1) : tf.zeros([0]);
        const anchors = tf.zeros([losses.shape[0] as number], 'int32');
        return reducer.reduce({ losses: losses as tf.Tensor1D, anchors: anchors as tf.Tensor1D, numAnchors: 2 }, e as tf.Tensor2D);
      })([x]);
      expect(value.dataSync()[0]).toBe(0);
      expectTensorClose(grads[0]!, [[0, 0], [0, 0]]);
      tf.dispose([value, ...grads]);
    }
    x.dispose();
  });

  it('gradients flow only through the kept losses', () => {
    const x = embeddings();
    const grad = tf.grad((e: tf.Tensor) => avgNonZeroReducer().reduce({ losses: tf.relu(tf.sub(tf.sum(e, 1), 4)) as tf.Tensor1D }, e as tf.Tensor2D))(x);
    // losses = relu([3, 7] - 4) = [0, 3]: only row 1 is kept, mean over 1 element.
    expectTensorClose(grad, [[0, 0], [1, 1]]);
    tf.dispose([x, grad]);
  });

  it('leaks nothing and validates', async () => {
    const x = embeddings();
    const losses = tf.tensor1d([1, 2]);
    await expectNoLeak(() => {
      for (const reducer of [meanReducer(), sumReducer(), avgNonZeroReducer(), thresholdReducer({ high: 1.5 })]) reducer.reduce({ losses }, x).dispose();
    });
    expectContrastiveError(() => thresholdReducer({}), 'INVALID_ARGUMENT', /must set 'low' or 'high', got neither/);
    expectContrastiveError(() => thresholdReducer({ low: 2, high: 1 }), 'INVALID_ARGUMENT', /Argument 'high' passed to 'thresholdReducer' must be a finite number > 2, got 1/);
    expectContrastiveError(() => perAnchorReducer({ aggregation: 'max' as never }), 'INVALID_ARGUMENT', /'aggregation'/);
    expectContrastiveError(() => perAnchorReducer().reduce({ losses }, x), 'SHAPE_MISMATCH', /Argument 'anchors' passed to 'perAnchorReducer.reduce' must be a tf.Tensor of rank 1/);
    expectContrastiveError(() => meanReducer().reduce({ losses: tf.tensor1d([1], 'int32') as tf.Tensor1D }, x), 'DTYPE_MISMATCH', /'losses'/);
    tf.dispose([x, losses]);
  });
});
