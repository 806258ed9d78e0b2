import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ContrastiveError, isContrastiveError } from './errors.js';
import { viewLabels } from './labels.js';
import { useTestBackend } from './testing/index.js';
import { assertEmbeddings, assertLabels, assertNumber, assertOneOf } from './validate.js';

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
