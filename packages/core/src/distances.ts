import * as tf from '@tensorflow/tfjs-core';
import { l2Normalize, safeSqrt } from './math.js';
import type { Distance, Embeddings } from './types.js';
import { assertEmbeddings, assertNumber, assertSameDims } from './validate.js';
import { ContrastiveError } from './errors.js';

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
  const fn = 'lpDistance';
  if (p !== Infinity) assertNumber(p, 'p', fn, { min: 1 });
  assertNumber(power, 'power', fn, { min: 0, exclusiveMin: true });
  assertNumber(chunkElements, 'chunkElements', fn, { integer: true, min: 1 });
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
    return finish(tf.sum(tf.pow(absDiff, p), axis));
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
