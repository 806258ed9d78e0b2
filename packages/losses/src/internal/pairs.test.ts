import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestBackend } from '@contrastive/core/testing';
import { identityMatrix, indicesWhere, labelPairMasks, oneHotRows, sameLabelMask } from './pairs.js';

beforeAll(async () => {
  await useTestBackend();
});

describe('internal pair helpers', () => {
  it('oneHotRows and identityMatrix accept a depth of 1 (tf.oneHot does not)', () => {
    tf.tidy(() => {
      expect(oneHotRows(tf.tensor1d([0, 0], 'int32'), 1).arraySync()).toEqual([[1], [1]]);
      expect(identityMatrix(1).arraySync()).toEqual([[1]]);
      expect(oneHotRows(tf.tensor1d([2, 0], 'int32'), 3).arraySync()).toEqual([[0, 0, 1], [1, 0, 0]]);
    });
  });

  it('labelPairMasks and sameLabelMask for a batch of one row, with and without a reference', () => {
    tf.tidy(() => {
      const one = tf.tensor1d([7], 'int32');
      const self = labelPairMasks(one, undefined);
      expect(self.positive.arraySync()).toEqual([[0]]);
      expect(self.negative.arraySync()).toEqual([[0]]);
      const ref = labelPairMasks(one, tf.tensor1d([7, 3], 'int32'));
      expect(ref.positive.arraySync()).toEqual([[1, 0]]);
      expect(ref.negative.arraySync()).toEqual([[0, 1]]);
      expect(sameLabelMask(one, undefined).arraySync()).toEqual([[1]]);
    });
  });

  it('indicesWhere keeps the true entries in order', () => {
    tf.tidy(() => {
      expect(indicesWhere(tf.tensor1d([false, true, true, false, true], 'bool')).arraySync()).toEqual([1, 2, 4]);
      expect(indicesWhere(tf.tensor1d([false], 'bool')).shape).toEqual([0]);
    });
  });
});
