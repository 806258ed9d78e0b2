/**
 * @internal
 * Eigen-decomposition of a symmetric `[m, m]` float64 matrix (row-major, overwritten) by the cyclic
 * Jacobi method (Golub & Van Loan, section 8.5): rotations until the off-diagonal mass is below
 * `1e-30` of the total (at most 60 sweeps), `O(m³)` per sweep; accurate to a few ulps of the largest
 * eigenvalue. Shared by the health metrics (eigenvalues of the Gram matrix) and the report's PCA
 * (eigenvectors of the covariance).
 *
 * @returns eigenvalues in descending order (ties by index) and, when `withVectors`, the matching
 *   eigenvectors as the rows of a row-major `[m, m]` matrix.
 */
export function jacobiEigen(matrix: Float64Array, m: number, withVectors: boolean): { values: Float64Array; vectors: Float64Array | undefined } {
  const a = matrix;
  const v = withVectors ? new Float64Array(m * m) : undefined;
  if (v !== undefined) for (let i = 0; i < m; i++) v[i * m + i] = 1;
  let total = 0;
  for (let i = 0; i < m * m; i++) total += (a[i] as number) ** 2;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < m; p++) for (let q = p + 1; q < m; q++) off += (a[p * m + q] as number) ** 2;
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < m - 1; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = a[p * m + q] as number;
        if (apq === 0) continue;
        const app = a[p * m + p] as number;
        const aqq = a[q * m + q] as number;
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        a[p * m + p] = app - t * apq;
        a[q * m + q] = aqq + t * apq;
        a[p * m + q] = 0;
        a[q * m + p] = 0;
        for (let k = 0; k < m; k++) {
          if (k !== p && k !== q) {
            const akp = a[k * m + p] as number;
            const akq = a[k * m + q] as number;
            const kp = c * akp - s * akq;
            const kq = s * akp + c * akq;
            a[k * m + p] = kp;
            a[p * m + k] = kp;
            a[k * m + q] = kq;
            a[q * m + k] = kq;
          }
          if (v === undefined) continue;
          // Columns p and q of V (V ← V·J) hold the eigenvectors.
          const vkp = v[k * m + p] as number;
          const vkq = v[k * m + q] as number;
          v[k * m + p] = c * vkp - s * vkq;
          v[k * m + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => (a[j * m + j] as number) - (a[i * m + i] as number) || i - j);
  const values = new Float64Array(m);
  const vectors = v === undefined ? undefined : new Float64Array(m * m);
  order.forEach((column, rank) => {
    values[rank] = a[column * m + column] as number;
    if (vectors !== undefined && v !== undefined) for (let k = 0; k < m; k++) vectors[rank * m + k] = v[k * m + column] as number;
  });
  return { values, vectors };
}
