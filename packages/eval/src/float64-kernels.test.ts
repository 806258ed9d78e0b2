import { Rng } from '@contrastive/core';
import { describe, expect, it } from 'vitest';
import { countNonZeros, dotRows, sparseTimes, toSparseRows, transposeF32 } from './float64-kernels.js';

function randomMatrix(rng: Rng, rows: number, cols: number, zeroFraction: number): Float32Array {
  return Float32Array.from({ length: rows * cols }, () => (rng.uniform() < zeroFraction ? 0 : rng.normal()));
}

describe('float64 kernels', () => {
  // Odd and even sizes reach every remainder branch of the 2x2 / 2-column blocking.
  it.each([
    [1, 1, 1],
    [2, 2, 3],
    [5, 3, 7],
    [8, 10, 13],
    [7, 9, 4],
  ])('dotRows(p = %i, q = %i, len = %i) equals the naive loops', (p, q, len) => {
    const rng = new Rng(p * 100 + q * 10 + len);
    const A = randomMatrix(rng, p, len, 0);
    const B = Float64Array.from(rng.normalArray(q * len));
    const out = new Float64Array(p * q);
    dotRows(A, p, B, q, len, out);
    for (let i = 0; i < p; i++) {
      for (let k = 0; k < q; k++) {
        let want = 0;
        for (let j = 0; j < len; j++) want += (A[i * len + j] as number) * (B[k * len + j] as number);
        expect(out[i * q + k]).toBeCloseTo(want, 12);
      }
    }
  });

  it.each([
    [6, 5, 3, 0.6],
    [9, 4, 10, 0.8],
    [3, 7, 1, 0],
    [4, 4, 2, 1],
  ])('sparseTimes over rows and columns of a %ix%i matrix (q = %i, zeros %f) equals the dense product', (rows, cols, q, zeroFraction) => {
    const rng = new Rng(rows * 31 + cols);
    const A = randomMatrix(rng, rows, cols, zeroFraction);
    const nonZeros = countNonZeros(A);
    const byRow = toSparseRows(A, rows, cols, nonZeros);
    const byColumn = toSparseRows(A, rows, cols, nonZeros, true);
    expect(byRow.starts[rows]).toBe(nonZeros);
    expect(byColumn.rows).toBe(cols);
    // A [rows, cols] times B [cols, q].
    const B = Float64Array.from(rng.normalArray(cols * q));
    const out = new Float64Array(rows * q);
    sparseTimes(byRow, B, q, out);
    for (let i = 0; i < rows; i++) {
      for (let k = 0; k < q; k++) {
        let want = 0;
        for (let j = 0; j < cols; j++) want += (A[i * cols + j] as number) * (B[j * q + k] as number);
        expect(out[i * q + k]).toBeCloseTo(want, 12);
      }
    }
    // A^T [cols, rows] times R [rows, q], against the dense transpose.
    const R = Float64Array.from(rng.normalArray(rows * q));
    const outT = new Float64Array(cols * q);
    sparseTimes(byColumn, R, q, outT);
    const At = transposeF32(A, rows, cols);
    for (let j = 0; j < cols; j++) {
      for (let k = 0; k < q; k++) {
        let want = 0;
        for (let i = 0; i < rows; i++) want += (At[j * rows + i] as number) * (R[i * q + k] as number);
        expect(outT[j * q + k]).toBeCloseTo(want, 12);
      }
    }
  });
});
