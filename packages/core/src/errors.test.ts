import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ContrastiveError, isContrastiveError } from './errors.js';
import { viewLabels } from './labels.js';
import { useTestBackend } from './testing/index.js';
import { cosineSimilarity } from './distances.js';
import { stopGradient } from './math.js';
import {
  assertDistance,
  assertEmbeddings,
  assertLabels,
  assertNumber,
  assertOneOf,
  assertReference,
  assertTuples,
} from './validate.js';

beforeAll(async () => {
  await useTestBackend();
});

describe('ContrastiveError', () => {
  it('carries a code and is recognised across copies by its marker', () => {
    const error = new ContrastiveError('INVALID_ARGUMENT', 'bad');
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.name).toBe('ContrastiveError');
    expect(isContrastiveError(error)).toBe(true);
    const foreign = Object.assign(new Error('x'), { [Symbol.for('@contrastive/core.ContrastiveError')]: true });
    expect(isContrastiveError(foreign)).toBe(true);
    expect(isContrastiveError(new Error('x'))).toBe(false);
    expect(isContrastiveError(null)).toBe(false);
  });
});

describe('validation', () => {
  it('assertNumber names the argument, the bound and the value', () => {
    expect(() => assertNumber(0, 'temperature', 'ntXentLoss', { min: 0, exclusiveMin: true })).toThrow(
      "Argument 'temperature' passed to 'ntXentLoss' must be a finite number > 0, got 0",
    );
    expect(() => assertNumber(Number.NaN, 'margin', 'f')).toThrow(/must be a finite number, got NaN/);
    expect(() => assertNumber('1', 'k', 'f', { integer: true })).toThrow(/must be an integer, got "1"/);
    expect(() => assertNumber(3, 'k', 'f', { max: 2 })).toThrow(/<= 2, got 3/);
    expect(() => assertNumber(2, 'k', 'f', { min: 1, max: 2 })).not.toThrow();
  });

  it('assertOneOf lists the allowed values', () => {
    expect(() => assertOneOf('x', ['a', 'b'], 'mode', 'f')).toThrow(`must be one of "a", "b", got "x"`);
  });

  it('assertEmbeddings and assertLabels check rank, dtype, size and disposal', () => {
    const embeddings = tf.zeros([4, 3]);
    const labels = tf.tensor1d([0, 1, 0, 1], 'int32');
    expect(() => assertEmbeddings(embeddings, 'embeddings', 'f')).not.toThrow();
    expect(() => assertLabels(labels, 4, 'labels', 'f')).not.toThrow();
    expect(() => assertLabels(labels, 6, 'labels', 'supConLoss')).toThrow(
      "Argument 'labels' passed to 'supConLoss' must have 6 entries (one per embedding), got 4",
    );
    const floatLabels = tf.tensor1d([0, 1, 0, 1]);
    try {
      assertLabels(floatLabels, 4, 'labels', 'f');
      expect.unreachable();
    } catch (error) {
      expect(isContrastiveError(error) && error.code).toBe('DTYPE_MISMATCH');
      expect((error as Error).message).toMatch(/must have dtype int32, got float32/);
    }
    expect(() => assertEmbeddings(tf.zeros([0, 3]), 'embeddings', 'f')).toThrow(/at least 1 row/);
    expect(() => assertEmbeddings([[1]], 'embeddings', 'f')).toThrow(/must be a tf.Tensor of rank 2/);
    const disposed = tf.zeros([2, 2]);
    disposed.dispose();
    expect(() => assertEmbeddings(disposed, 'embeddings', 'f')).toThrow(/has been disposed/);
    tf.dispose([embeddings, labels, floatLabels]);
  });
});

describe('shared argument checks', () => {
  it('assertDistance accepts a Distance and names the argument otherwise', () => {
    expect(() => assertDistance(cosineSimilarity(), 'f')).not.toThrow();
    expect(() => assertDistance({ pairwise: () => null }, 'batchHardMiner')).toThrow(
      "Argument 'distance' passed to 'batchHardMiner' must be a Distance (e.g. lpDistance()), got object",
    );
    expect(() => assertDistance(null, 'f', 'cosineSimilarity()', 'options.distance')).toThrow(
      /Argument 'options.distance' passed to 'f' must be a Distance \(e.g. cosineSimilarity\(\)\), got null/,
    );
  });

  it('assertTuples checks kind, dtype and matching lengths', () => {
    const two = tf.tensor1d([0, 1], 'int32');
    const three = tf.tensor1d([0, 1, 2], 'int32');
    const float = tf.tensor1d([0, 1]);
    expect(() => assertTuples({ kind: 'triplets', anchor: two, positive: two, negative: two }, 'f')).not.toThrow();
    expect(() => assertTuples({ kind: 'pairs', anchorPos: two, positive: two, anchorNeg: three, negative: three }, 'f')).not.toThrow();
    expect(() => assertTuples({ kind: 'triplets', anchor: two, positive: two, negative: three }, 'f')).toThrow(
      "Argument 'tuples.negative' passed to 'f' must have 2 entries (one per entry of 'tuples.anchor'), got 3",
    );
    expect(() => assertTuples({ kind: 'triplets', anchor: two, positive: float, negative: two }, 'f')).toThrow(
      /'tuples.positive'.*int32, got float32/,
    );
    expect(() => assertTuples({ kind: 'quads' }, 'f')).toThrow(/'tuples.kind'.*"pairs", "triplets", got "quads"/);
    expect(() => assertTuples(7, 'f')).toThrow(/'tuples' passed to 'f' must be pair or triplet tuples, got number/);
    tf.dispose([two, three, float]);
  });

  it('assertReference checks the reference rows, columns and labels', () => {
    const embeddings = tf.zeros([2, 3]);
    const good = { embeddings: tf.zeros([4, 3]), labels: tf.tensor1d([0, 1, 2, 3], 'int32') };
    const wide = { embeddings: tf.zeros([4, 5]), labels: good.labels };
    expect(() => assertReference(good, embeddings, 'f')).not.toThrow();
    expect(() => assertReference(wide, embeddings, 'f')).toThrow(/'ref.embeddings' passed to 'f' must have 3 columns/);
    expect(() => assertReference({ embeddings: good.embeddings, labels: tf.tensor1d([0], 'int32') }, embeddings, 'f')).toThrow(
      /'ref.labels' passed to 'f' must have 4 entries/,
    );
    expect(() => assertReference(undefined, embeddings, 'f')).toThrow(/'ref' passed to 'f' must be \{ embeddings, labels \}, got undefined/);
    tf.dispose([embeddings, good.embeddings, good.labels, wide.embeddings]);
  });
});

describe('stopGradient', () => {
  it('is the identity forward and blocks the gradient', () => {
    const x = tf.tensor1d([1, -2, 3]);
    const value = stopGradient(x);
    expect(Array.from(value.dataSync())).toEqual([1, -2, 3]);
    // d/dx [x * x + stop(x) * x] = 2x + stop(x) = 3x (the stopped factor contributes no gradient).
    const grad = tf.grad((input: tf.Tensor) => tf.sum(tf.add(tf.mul(input, input), tf.mul(stopGradient(input), input))))(x);
    expect(Array.from(grad.dataSync())).toEqual([3, -6, 9]);
    tf.dispose([x, value, grad]);
  });
});

describe('viewLabels', () => {
  it('is view-major with label i for every view of sample i', () => {
    const labels = viewLabels(3, 3);
    expect(labels.dtype).toBe('int32');
    expect(Array.from(labels.dataSync())).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    labels.dispose();
    const two = viewLabels(2);
    expect(Array.from(two.dataSync())).toEqual([0, 1, 0, 1]);
    two.dispose();
  });

  it('rejects non-positive counts', () => {
    expect(() => viewLabels(0)).toThrow(/Argument 'n' passed to 'viewLabels' must be an integer >= 1, got 0/);
    expect(() => viewLabels(2, 1.5)).toThrow(/'views'/);
  });
});
