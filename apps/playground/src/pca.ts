/**
 * A 2-D PCA of `n` rows of width `d` (row-major float32), on the host in float64: centre the rows,
 * form the `d x d` covariance and take its two leading eigenvectors by power iteration with
 * deflation. `@contrastive/eval` computes the same projection inside `embeddingReport`, but does
 * not export it, so the page keeps this small copy for its live map.
 *
 * Each component's sign is fixed (its largest-magnitude entry positive), so that the map does not
 * flip from one epoch to the next when the embeddings barely change.
 */
export interface Projection2d {
  /** `2n` coordinates, `[x0, y0, x1, y1, ...]`. */
  readonly points: Float64Array;
  /** Fraction of the total variance along each of the two axes. */
  readonly explained: readonly [number, number];
}

const ITERATIONS = 200;

export function pca2d(rows: Float32Array, n: number, d: number): Projection2d {
  if (rows.length !== n * d || n < 1 || d < 1) throw new Error(`pca2d: expected ${n} x ${d} values, got ${rows.length}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += rows[i * d + j]! / n;
  const centred = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) centred[i * d + j] = rows[i * d + j]! - mean[j]!;
  const covariance = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    const offset = i * d;
    for (let a = 0; a < d; a++) {
      const value = centred[offset + a]!;
      if (value === 0) continue;
      for (let b = a; b < d; b++) covariance[a * d + b]! += value * centred[offset + b]!;
    }
  }
  let trace = 0;
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const value = covariance[a * d + b]! / Math.max(1, n - 1);
      covariance[a * d + b] = value;
      covariance[b * d + a] = value;
    }
    trace += covariance[a * d + a]!;
  }
  const components: Float64Array[] = [];
  const variances: number[] = [];
  for (let c = 0; c < 2; c++) {
    // A fixed, non-degenerate start vector keeps the map deterministic.
    let vector = new Float64Array(d).map((_, j) => 1 / Math.sqrt(d) + (j % 7) * 1e-3);
    let eigenvalue = 0;
    for (let iteration = 0; iteration < ITERATIONS; iteration++) {
      const next = new Float64Array(d);
      for (let a = 0; a < d; a++) {
        let sum = 0;
        for (let b = 0; b < d; b++) sum += covariance[a * d + b]! * vector[b]!;
        next[a] = sum;
      }
      const norm = Math.hypot(...next);
      if (norm === 0) break;
      for (let a = 0; a < d; a++) next[a]! /= norm;
      eigenvalue = norm;
      vector = next;
    }
    let largest = 0;
    for (let a = 0; a < d; a++) if (Math.abs(vector[a]!) > Math.abs(vector[largest]!)) largest = a;
    if (vector[largest]! < 0) for (let a = 0; a < d; a++) vector[a] = -vector[a]!;
    components.push(vector);
    variances.push(eigenvalue);
    // Deflate: remove this component's variance before finding the next one.
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) covariance[a * d + b]! -= eigenvalue * vector[a]! * vector[b]!;
  }
  const points = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 2; c++) {
      const component = components[c]!;
      let sum = 0;
      for (let j = 0; j < d; j++) sum += centred[i * d + j]! * component[j]!;
      points[2 * i + c] = sum;
    }
  }
  const total = trace > 0 ? trace : 1;
  return { points, explained: [variances[0]! / total, variances[1]! / total] };
}
