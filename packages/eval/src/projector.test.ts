import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectorExport } from './projector.js';

beforeAll(async () => {
  await useTestBackend();
});

describe('projectorExport', () => {
  it('writes the vectors and a single-column metadata file without a header', () => {
    const x = tf.tensor2d([[1, 0.5], [0, 2]]);
    const files = projectorExport(x, { columns: [{ name: 'label', values: ['a', 'b'] }] });
    expect(files.vectors).toBe('1\t0.5\n0\t2\n');
    expect(files.metadata).toBe('a\nb\n');
    x.dispose();
  });

  it('writes a header line with several columns and cleans tabs and newlines', () => {
    const x = tf.tensor2d([[1], [2], [3]]);
    const files = projectorExport(x, {
      columns: [
        { name: 'label', values: Int32Array.from([0, 1, 0]) },
        { name: 'name', values: ['zero', 'one\ttab', 'new\nline'] },
      ],
    });
    expect(files.metadata).toBe('label\tname\n0\tzero\n1\tone tab\n0\tnew line\n');
    expect(projectorExport(x).metadata).toBeUndefined();
    x.dispose();
  });

  it('round-trips float32 values at precision 9', () => {
    const rng = new Rng(3);
    const values = rng.normalArray(50 * 8);
    const x = tf.tensor2d(values, [50, 8]);
    const { vectors } = projectorExport(x, { precision: 9 });
    const parsed = vectors.trim().split('\n').map((line) => line.split('\t').map(Number));
    expect(parsed.length).toBe(50);
    parsed.forEach((row, i) => row.forEach((v, j) => expect(Math.fround(v)).toBe(values[i * 8 + j])));
    x.dispose();
  });

  it('leaks no tensor', async () => {
    const x = tf.tensor2d([[1, 2]]);
    await expectNoLeak(() => projectorExport(x));
    x.dispose();
  });

  it('names bad arguments', () => {
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    expectContrastiveError(() => projectorExport(x, { columns: [{ name: 'label', values: [1] }] }), 'INVALID_ARGUMENT', /'columns\[0\].values' passed to 'projectorExport' must have 2 values/);
    expectContrastiveError(() => projectorExport(x, { columns: [{ name: 'a\tb', values: [1, 2] }] }), 'INVALID_ARGUMENT', /'columns\[0\].name'/);
    expectContrastiveError(() => projectorExport(x, { precision: 0 }), 'INVALID_ARGUMENT', /'precision'.*\[1, 17\], got 0/);
    const bad = tf.tensor2d([[1, Number.NaN]]);
    expectContrastiveError(() => projectorExport(bad), 'NON_FINITE', /'embeddings'.*NaN at row 0, column 1/);
    expectContrastiveError(() => projectorExport(tf.tensor1d([1]) as unknown as tf.Tensor2D), 'SHAPE_MISMATCH', /'embeddings' passed to 'projectorExport'/);
    tf.dispose([x, bad]);
  });
});
