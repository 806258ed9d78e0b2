/**
 * Plain-JS float64 kernels for the L-BFGS probe. Inputs are float32 (exact in float64), products and
 * sums are float64.
 */

/**
 * `out[i * q + k] = A_i · B_k` for the `p` rows of `A` (`[p, len]`, float32) and the `q` rows of
 * `B` (`[q, len]`, float64), all contiguous. Blocked two rows by two rows so every loaded element
 * feeds two products (about 2x a naive loop in V8).
 * @internal
 */
export function dotRows(A: Float32Array, p: number, B: Float64Array, q: number, len: number, out: Float64Array): void {
  let i = 0;
  for (; i + 1 < p; i += 2) {
    const a0 = i * len;
    const a1 = a0 + len;
    let k = 0;
    for (; k + 1 < q; k += 2) {
      const b0 = k * len;
      const b1 = b0 + len;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let j = 0; j < len; j++) {
        const x0 = A[a0 + j] as number;
        const x1 = A[a1 + j] as number;
        const y0 = B[b0 + j] as number;
        const y1 = B[b1 + j] as number;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      out[i * q + k] = s00;
      out[i * q + k + 1] = s01;
      out[(i + 1) * q + k] = s10;
      out[(i + 1) * q + k + 1] = s11;
    }
    for (; k < q; k++) {
      const b0 = k * len;
      let s0 = 0;
      let s1 = 0;
      for (let j = 0; j < len; j++) {
        const y = B[b0 + j] as number;
        s0 += (A[a0 + j] as number) * y;
        s1 += (A[a1 + j] as number) * y;
      }
      out[i * q + k] = s0;
      out[(i + 1) * q + k] = s1;
    }
  }
  for (; i < p; i++) {
    const a0 = i * len;
    for (let k = 0; k < q; k++) {
      const b0 = k * len;
      let s = 0;
      for (let j = 0; j < len; j++) s += (A[a0 + j] as number) * (B[b0 + j] as number);
      out[i * q + k] = s;
    }
  }
}

/**
 * Transpose a row-major `[rows, cols]` float32 matrix.
 * @internal
 */
export function transposeF32(A: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const offset = i * cols;
    for (let j = 0; j < cols; j++) out[j * rows + i] = A[offset + j] as number;
  }
  return out;
}

/**
 * A float32 matrix in compressed sparse row form: the non-zero `values` of row `i` and their
 * column `index`es sit at `starts[i] .. starts[i + 1] - 1`.
 * @internal
 */
export interface SparseRows {
  readonly rows: number;
  readonly starts: Int32Array;
  readonly index: Int32Array;
  readonly values: Float32Array;
}

/**
 * Fraction of non-zero entries below which {@link sparseTimes} beats {@link dotRows} (measured on
 * MNIST pixels, 19% non-zero: about 2x; break-even near 40%).
 * @internal
 */
export const SPARSE_DENSITY = 0.3;

/**
 * Compressed sparse rows of a row-major `[rows, cols]` float32 matrix (`transpose` gives those of
 * its transpose, i.e. the compressed columns).
 * @internal
 */
export function toSparseRows(A: Float32Array, rows: number, cols: number, nonZeros: number, transpose = false): SparseRows {
  const outer = transpose ? cols : rows;
  const inner = transpose ? rows : cols;
  const starts = new Int32Array(outer + 1);
  const index = new Int32Array(nonZeros);
  const values = new Float32Array(nonZeros);
  let entry = 0;
  for (let i = 0; i < outer; i++) {
    starts[i] = entry;
    for (let j = 0; j < inner; j++) {
      const value = (transpose ? A[j * cols + i] : A[i * cols + j]) as number;
      if (value !== 0) {
        index[entry] = j;
        values[entry] = value;
        entry++;
      }
    }
  }
  starts[outer] = entry;
  return { rows: outer, starts, index, values };
}

/** Number of non-zero entries. @internal */
export function countNonZeros(A: Float32Array): number {
  let count = 0;
  for (let i = 0; i < A.length; i++) if (A[i] !== 0) count++;
  return count;
}

/**
 * `out[i * q + k] = sum_e values[e] * B[index[e] * q + k]` over the non-zeros `e` of row `i`: a
 * sparse `[rows, len]` matrix times a dense row-major `[len, q]` float64 matrix. Two output
 * columns per pass keep the sums in registers.
 * @internal
 */
export function sparseTimes(A: SparseRows, B: Float64Array, q: number, out: Float64Array): void {
  const { rows, starts, index, values } = A;
  for (let i = 0; i < rows; i++) {
    const o = i * q;
    const first = starts[i] as number;
    const end = starts[i + 1] as number;
    let k = 0;
    for (; k + 1 < q; k += 2) {
      let s0 = 0;
      let s1 = 0;
      for (let e = first; e < end; e++) {
        const v = values[e] as number;
        const b = (index[e] as number) * q + k;
        s0 += v * (B[b] as number);
        s1 += v * (B[b + 1] as number);
      }
      out[o + k] = s0;
      out[o + k + 1] = s1;
    }
    for (; k < q; k++) {
      let s = 0;
      for (let e = first; e < end; e++) s += (values[e] as number) * (B[(index[e] as number) * q + k] as number);
      out[o + k] = s;
    }
  }
}
