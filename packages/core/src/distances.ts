import * as tf from '@tensorflow/tfjs-core';
import { gramMatrix, l2Normalize, safeSqrt } from './math.js';
import type { Distance, Embeddings } from './types.js';
import { assertEmbeddings, assertNumber, assertSameDims } from './validate.js';
import { ContrastiveError } from './errors.js';
import { euclidFinishGradNative, euclidFinishNative, euclidGradSymNative, nativeActive } from './backend/wasm-native.js';

/** Options shared by every distance. @category Distances */
export interface ChunkOptions {
  /**
   * Most elements an intermediate `[rows, m, d]` (or `[rows, m]`) block may hold before `pairwise`
   * splits the rows of `a` into chunks; bounds memory for large `n`.
   * @defaultValue 16777216 (2^24)
   */
  readonly chunkElements?: number;
}

function rowsPerChunk(m: number, width: number, chunkElements: number): number {
  return Math.max(1, Math.floor(chunkElements / Math.max(1, m * width)));
}

function chunked(a: Embeddings, rows: number, block: (part: Embeddings) => tf.Tensor2D): tf.Tensor2D {
  const n = a.shape[0];
  if (n <= rows) return block(a);
  const parts: tf.Tensor2D[] = [];
  for (let start = 0; start < n; start += rows) {
    const size = Math.min(rows, n - start);
    parts.push(tf.tidy(() => block(tf.slice(a, [start, 0], [size, a.shape[1]]))));
  }
  const result = tf.concat(parts, 0);
  tf.dispose(parts);
  return result;
}

function checkPair(a: Embeddings, b: Embeddings | undefined, fn: string): Embeddings {
  assertEmbeddings(a, 'a', fn);
  if (b === undefined) return a;
  assertEmbeddings(b, 'b', fn);
  assertSameDims(a, b, 'b', fn);
  return b;
}

function checkPaired(a: Embeddings, b: Embeddings, fn: string): void {
  assertEmbeddings(a, 'a', fn);
  assertEmbeddings(b, 'b', fn);
  assertSameDims(a, b, 'b', fn);
  if (a.shape[0] !== b.shape[0]) {
    throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'b' passed to '${fn}' must have ${a.shape[0]} rows (as 'a'), got ${b.shape[0]}`);
  }
}

function dotDistance(name: string, normalize: boolean, options: ChunkOptions): Distance {
  const chunkElements = options.chunkElements ?? 2 ** 24;
  assertNumber(chunkElements, 'chunkElements', name, { integer: true, min: 1 });
  const prepare = (x: Embeddings): Embeddings => (normalize ? l2Normalize(x) : x);
  return {
    name,
    isSimilarity: true,
    normalizes: normalize,
    pairwise(a: Embeddings, b?: Embeddings): tf.Tensor2D {
      const other = checkPair(a, b, `${name}.pairwise`);
      return tf.tidy(() => {
        const left = prepare(a);
        // Transpose once and use the plain matMul: it is the fast form on every backend.
        const rightT = tf.transpose(other === a ? left : prepare(other));
        return chunked(left, rowsPerChunk(other.shape[0], 1, chunkElements), (part) => tf.matMul(part, rightT));
      });
    },
    paired(a: Embeddings, b: Embeddings): tf.Tensor1D {
      checkPaired(a, b, `${name}.paired`);
      return tf.tidy(() => tf.sum(tf.mul(prepare(a), prepare(b)), 1));
    },
  };
}

/**
 * Cosine similarity: dot product of L2-normalized rows (PML `CosineSimilarity`). Larger = closer.
 *
 * @param options - chunking bound for large batches.
 * @returns a {@link Distance} with `isSimilarity: true`; `pairwise(a, b)` is `[n, m]` in [-1, 1].
 * @example
 * ```ts
 * const similarity = cosineSimilarity();
 * similarity.pairwise(tf.tensor2d([[1, 0], [0, 2]])).print(); // [[1, 0], [0, 1]]
 * ```
 * @category Distances
 */
export function cosineSimilarity(options: ChunkOptions = {}): Distance {
  return dotDistance('cosineSimilarity', true, options);
}

/**
 * Dot-product similarity of raw rows (PML `DotProductSimilarity`). Larger = closer.
 *
 * @param options - chunking bound for large batches.
 * @returns a {@link Distance} with `isSimilarity: true`.
 * @example
 * ```ts
 * dotProductSimilarity().pairwise(tf.tensor2d([[1, 2]])).print(); // [[5]]
 * ```
 * @category Distances
 */
export function dotProductSimilarity(options: ChunkOptions = {}): Distance {
  return dotDistance('dotProductSimilarity', false, options);
}

/** Options of {@link lpDistance}. @category Distances */
export interface LpDistanceOptions extends ChunkOptions {
  /** Order of the norm, `>= 1` or `Infinity`. @defaultValue 2 */
  readonly p?: number;
  /** The distance is raised to this power (2 with p = 2 gives squared Euclidean). @defaultValue 1 */
  readonly power?: number;
  /** L2-normalize rows before measuring. @defaultValue true (as PML's `LpDistance`) */
  readonly normalize?: boolean;
  /**
   * On the wasm backend, compute the Euclidean matrix (p = 2, power 1, one chunk) by the toolkit's
   * native kernels with an explicit gradient; `false` keeps the tensor-op path (equal within
   * float32 rounding). @defaultValue true
   */
  readonly native?: boolean;
}

/**
 * `1 - eye(m)` from two ranges, `min(|i - j|, 1)`: `tf.eye` fills an `m x m` JavaScript array
 * first (4 MB at m = 1024, ~90 ms of fresh-page faults on a VM), these are three element-wise ops.
 */
function offDiagonal(m: number): tf.Tensor2D {
  return tf.tidy(() => {
    const index = tf.range(0, m, 1, 'float32');
    return tf.minimum(tf.abs(tf.sub(tf.reshape(index, [m, 1]), tf.reshape(index, [1, m]))), 1) as tf.Tensor2D;
  });
}

/**
 * The Euclidean distance matrix of `left` against `right` (`self`: the same tensor) on the wasm
 * backend: one plain matMul for the Gram block, one native pass for `sqrt(relu(|l|² + |r|² - 2g))`
 * (the diagonal times 0 when `self`), and an explicit gradient — one native pass for
 * `dS = safeSqrt'·dy`, then `dl = 2 l·rowsum(dS) - 2 dS·r`, `dr = 2 r·colsum(dS) - 2 dSᵀ·l`
 * (with `self` one pass for `dS + dSᵀ` and its row sums, then one product, `(dS + dSᵀ)·l`). The tensor path it replaces spends about ten
 * element-wise passes over `[n, m]` forward and twice that backward. `null` off wasm.
 */
function euclideanNative(left: Embeddings, right: Embeddings, self: boolean): tf.Tensor2D | null {
  if (!nativeActive()) return null;
  const forward = (l: tf.Tensor2D, r: tf.Tensor2D): tf.Tensor2D => {
    const gram = self ? gramMatrix(l) : (tf.matMul(l, r, false, true) as tf.Tensor2D);
    const sqL = tf.sum(tf.square(l), 1) as tf.Tensor1D;
    const sqR = self ? sqL : (tf.sum(tf.square(r), 1) as tf.Tensor1D);
    return euclidFinishNative(gram, sqL, sqR, self) as tf.Tensor2D;
  };
  const dGrad = (d: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor2D => euclidFinishGradNative(d, dy, self) as tf.Tensor2D;
  if (self) {
    const op = tf.customGrad(((l: tf.Tensor2D, save: tf.GradSaveFunc) => {
      const value = forward(l, l);
      save([l, value]);
      return {
        value,
        gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
          const [x, d] = saved as [tf.Tensor2D, tf.Tensor2D];
          // dS + dSᵀ and its row sums (= row + column sums of dS) in one pass.
          const { sym, rowSums } = euclidGradSymNative(d, dy) as { sym: tf.Tensor2D; rowSums: tf.Tensor1D };
          return tf.mul(tf.sub(tf.mul(x, tf.reshape(rowSums, [-1, 1])), tf.matMul(sym, x)), 2);
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    return op(left) as tf.Tensor2D;
  }
  const op = tf.customGrad(((l: tf.Tensor2D, r: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const value = forward(l, r);
    save([l, r, value]);
    return {
      value,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [x, y, d] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const dS = dGrad(d, dy);
        const dl = tf.mul(tf.sub(tf.mul(x, tf.reshape(tf.sum(dS, 1), [-1, 1])), tf.matMul(dS, y)), 2);
        const dr = tf.mul(tf.sub(tf.mul(y, tf.reshape(tf.sum(dS, 0), [-1, 1])), tf.matMul(dS, x, true, false)), 2);
        return [dl, dr];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(left, right) as tf.Tensor2D;
}

/**
 * Minkowski distance `||a - b||_p ^ power` (PML `LpDistance`; Hadsell et al. 2006 use p = 2).
 * Smaller = closer. The gradient is finite for identical rows (0, as `torch.cdist`).
 *
 * @param options - `p`, `power`, `normalize`, chunking bound.
 * @returns a {@link Distance} with `isSimilarity: false`.
 * @throws {@link ContrastiveError} `INVALID_ARGUMENT` for `p < 1` or `power <= 0`.
 * @example
 * ```ts
 * lpDistance({ normalize: false }).pairwise(tf.tensor2d([[0, 0], [3, 4]])).print(); // [[0, 5], [5, 0]]
 * ```
 * @category Distances
 */
export function lpDistance(options: LpDistanceOptions = {}): Distance {
  const p = options.p ?? 2;
  const power = options.power ?? 1;
  const normalize = options.normalize ?? true;
  const chunkElements = options.chunkElements ?? 2 ** 24;
  const native = options.native ?? true;
  const fn = 'lpDistance';
  if (p !== Infinity) assertNumber(p, 'p', fn, { min: 1 });
  assertNumber(power, 'power', fn, { min: 0, exclusiveMin: true });
  assertNumber(chunkElements, 'chunkElements', fn, { integer: true, min: 1 });
  if (typeof native !== 'boolean') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'native' passed to '${fn}' must be a boolean, got ${String(native)}`);
  }
  const name = `lpDistance(p=${p}${power === 1 ? '' : `, power=${power}`})`;
  const prepare = (x: Embeddings): Embeddings => (normalize ? l2Normalize(x) : x);

  // From the p-th power of the distance (the sum of |diff|^p) to distance^power.
  const finish = <T extends tf.Tensor>(sumOfPowers: T): T => {
    if (p === 2 && power === 2) return tf.relu(sumOfPowers);
    if (p === 2) {
      const root = safeSqrt(sumOfPowers);
      return power === 1 ? root : (tf.pow(root, power) as T);
    }
    return tf.pow(safeSqrt(sumOfPowers), (2 * power) / p) as T;
  };
  const rootOfPowers = (absDiff: tf.Tensor, axis: number): tf.Tensor => {
    if (p === Infinity) {
      const maxAbs = tf.max(absDiff, axis);
      return power === 1 ? maxAbs : tf.pow(maxAbs, power);
    }
    if (p === 1) {
      const sum = tf.sum(absDiff, axis);
      return power === 1 ? sum : tf.pow(sum, power);
    }
    // (sum |d|^p)^(power/p) written as safeSqrt(sum)^(2*power/p) to keep the gradient finite at 0.
    // |d|^2 as a square: the same correctly rounded product, where Pow is a libm call per element.
    return finish(tf.sum(p === 2 ? tf.square(absDiff) : tf.pow(absDiff, p), axis));
  };

  return {
    name,
    isSimilarity: false,
    normalizes: normalize,
    pairwise(a: Embeddings, b?: Embeddings): tf.Tensor2D {
      const other = checkPair(a, b, `${name}.pairwise`);
      return tf.tidy(() => {
        const left = prepare(a);
        const right = other === a ? left : prepare(other);
        const m = right.shape[0];
        if (p === 2 && power === 1 && left.shape[0] * m <= chunkElements && native) {
          const fused = euclideanNative(left, right, other === a);
          if (fused !== null) return fused;
        }
        if (p === 2) {
          // ||a||^2 + ||b||^2 - 2 a.b with one plain matMul per chunk.
          const rightT = tf.transpose(right);
          const rightSq = tf.reshape(tf.sum(tf.square(right), 1), [1, m]);
          const result = chunked(left, rowsPerChunk(m, 1, chunkElements), (part) => {
            const leftSq = tf.sum(tf.square(part), 1, true);
            return finish(tf.sub(tf.add(leftSq, rightSq), tf.mul(tf.matMul(part, rightT), 2))) as tf.Tensor2D;
          });
          // The expanded form cancels: a row against itself gives float32 noise (~3e-4 for unit rows
          // on the cpu backend) instead of 0. Against itself the diagonal is 0 by definition.
          return other === a ? (tf.mul(result, offDiagonal(m)) as tf.Tensor2D) : result;
        }
        const rightRows = tf.expandDims(right, 0);
        return chunked(left, rowsPerChunk(m, left.shape[1], chunkElements), (part) => {
          const diff = tf.abs(tf.sub(tf.expandDims(part, 1), rightRows));
          return rootOfPowers(diff, 2) as tf.Tensor2D;
        });
      });
    },
    paired(a: Embeddings, b: Embeddings): tf.Tensor1D {
      checkPaired(a, b, `${name}.paired`);
      return tf.tidy(() => rootOfPowers(tf.abs(tf.sub(prepare(a), prepare(b))), 1) as tf.Tensor1D);
    },
  };
}
