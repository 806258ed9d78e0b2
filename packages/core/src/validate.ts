import type * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError } from './errors.js';
import type { Distance, Embeddings, Labels, Reference, Tuples } from './types.js';

function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  return typeof value;
}

/**
 * Throws unless `value` is a finite number (optionally an integer) inside `[min, max]`
 * (or the open interval where `exclusiveMin`/`exclusiveMax`).
 *
 * @param value - the received value.
 * @param argument - the argument's name, used in the message.
 * @param fn - the calling function's name, used in the message.
 * @param range - bounds and integer requirement.
 * @throws {@link ContrastiveError} `INVALID_ARGUMENT` naming the argument.
 * @category Validation
 */
export function assertNumber(
  value: unknown,
  argument: string,
  fn: string,
  range: { min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean; integer?: boolean } = {},
): asserts value is number {
  const { min, max, exclusiveMin = false, exclusiveMax = false, integer = false } = range;
  // The checks come first and the message is built only on failure: this runs in hot loops
  // (Rng.int per draw).
  if (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!integer || Number.isInteger(value)) &&
    (min === undefined || (exclusiveMin ? value > min : value >= min)) &&
    (max === undefined || (exclusiveMax ? value < max : value <= max))
  ) {
    return;
  }
  const lower = min === undefined ? '' : `${exclusiveMin ? '>' : '>='} ${min}`;
  const upper = max === undefined ? '' : `${exclusiveMax ? '<' : '<='} ${max}`;
  const bound = [lower, upper].filter((part) => part !== '').join(' and ');
  const expected = `${integer ? 'an integer' : 'a finite number'}${bound === '' ? '' : ` ${bound}`}`;
  throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${fn}' must be ${expected}, got ${describe(value)}`);
}

/**
 * Throws unless `value` is one of `allowed`.
 *
 * @param value - the received value.
 * @param allowed - the accepted values.
 * @param argument - the argument's name.
 * @param fn - the calling function's name.
 * @throws {@link ContrastiveError} `INVALID_ARGUMENT`.
 * @category Validation
 */
export function assertOneOf<T extends string | number | boolean>(
  value: unknown,
  allowed: readonly T[],
  argument: string,
  fn: string,
): asserts value is T {
  if (!allowed.includes(value as T)) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${fn}' must be one of ${allowed.map(describe).join(', ')}, got ${describe(value)}`,
    );
  }
}

/**
 * Throws unless `tensor` is a live tf.Tensor of the given rank (and dtype, when given).
 *
 * @param tensor - the received value.
 * @param rank - expected rank.
 * @param argument - the argument's name.
 * @param fn - the calling function's name.
 * @param dtype - expected dtype, if any.
 * @throws {@link ContrastiveError} `SHAPE_MISMATCH`, `DTYPE_MISMATCH` or `DISPOSED`.
 * @category Validation
 */
export function assertTensor(
  tensor: unknown,
  rank: number,
  argument: string,
  fn: string,
  dtype?: tf.DataType | readonly tf.DataType[],
): asserts tensor is tf.Tensor {
  const candidate = tensor as tf.Tensor | undefined;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    !Array.isArray((candidate as { shape?: unknown }).shape) ||
    typeof (candidate as { dtype?: unknown }).dtype !== 'string'
  ) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument '${argument}' passed to '${fn}' must be a tf.Tensor of rank ${rank}, got ${describe(tensor)}`,
    );
  }
  if (candidate.isDisposed) {
    throw new ContrastiveError('DISPOSED', `Argument '${argument}' passed to '${fn}' has been disposed`);
  }
  if (candidate.rank !== rank) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument '${argument}' passed to '${fn}' must be rank ${rank}, got rank ${candidate.rank} (shape [${candidate.shape.join(', ')}])`,
    );
  }
  if (dtype !== undefined) {
    const allowed = typeof dtype === 'string' ? [dtype] : dtype;
    if (!allowed.includes(candidate.dtype)) {
      throw new ContrastiveError(
        'DTYPE_MISMATCH',
        `Argument '${argument}' passed to '${fn}' must have dtype ${allowed.join(' or ')}, got ${candidate.dtype}`,
      );
    }
  }
}

/**
 * Throws unless `embeddings` is a `[n, d]` float32 tensor with `n >= minRows` and `d >= 1`.
 *
 * @param embeddings - the received value.
 * @param argument - the argument's name (usually `'embeddings'`).
 * @param fn - the calling function's name.
 * @param minRows - fewest rows accepted. @defaultValue 1
 * @throws {@link ContrastiveError}
 * @category Validation
 */
export function assertEmbeddings(
  embeddings: unknown,
  argument: string,
  fn: string,
  minRows = 1,
): asserts embeddings is Embeddings {
  assertTensor(embeddings, 2, argument, fn, 'float32');
  const [rows, dims] = (embeddings as Embeddings).shape;
  if (rows < minRows) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument '${argument}' passed to '${fn}' must have at least ${minRows} row(s), got ${rows}`,
    );
  }
  if (dims < 1) {
    throw new ContrastiveError('SHAPE_MISMATCH', `Argument '${argument}' passed to '${fn}' must have at least 1 column, got 0`);
  }
}

/**
 * Throws unless `labels` is a `[count]` int32 tensor.
 *
 * @param labels - the received value.
 * @param count - expected number of labels (one per embedding).
 * @param argument - the argument's name (usually `'labels'`).
 * @param fn - the calling function's name.
 * @throws {@link ContrastiveError} `DTYPE_MISMATCH` or `LABEL_COUNT`.
 * @category Validation
 */
export function assertLabels(labels: unknown, count: number, argument: string, fn: string): asserts labels is Labels {
  assertTensor(labels, 1, argument, fn, 'int32');
  const size = (labels as Labels).shape[0];
  if (size !== count) {
    throw new ContrastiveError(
      'LABEL_COUNT',
      `Argument '${argument}' passed to '${fn}' must have ${count} entries (one per embedding), got ${size}`,
    );
  }
}

/**
 * Throws unless two embedding matrices have the same number of columns. Call it after
 * {@link assertEmbeddings} has checked `a` (and `b`).
 *
 * @param a - first `[n, d]` tensor.
 * @param b - second `[m, d]` tensor.
 * @param argument - the second argument's name.
 * @param fn - the calling function's name.
 * @throws {@link ContrastiveError} `SHAPE_MISMATCH` naming `argument` (also when `b` is no tensor).
 * @category Validation
 */
export function assertSameDims(a: Embeddings, b: Embeddings, argument: string, fn: string): void {
  if (b === null || typeof b !== 'object' || !Array.isArray((b as { shape?: unknown }).shape)) {
    throw new ContrastiveError('SHAPE_MISMATCH', `Argument '${argument}' passed to '${fn}' must be a tf.Tensor of rank 2, got ${describe(b)}`);
  }
  if (a.shape[1] !== b.shape[1]) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument '${argument}' passed to '${fn}' must have ${a.shape[1]} columns (the embeddings' dimension), got ${b.shape[1]}`,
    );
  }
}

function describeKind(value: unknown): string {
  return value === null ? 'null' : typeof value;
}

/**
 * Throws unless `distance` implements {@link Distance} (has `pairwise` and a boolean
 * `isSimilarity`).
 *
 * @param distance - the received value.
 * @param fn - the calling function's name.
 * @param example - the default distance named in the message. @defaultValue `'lpDistance()'`
 * @param argument - the argument's name. @defaultValue `'distance'`
 * @throws {@link ContrastiveError} `INVALID_ARGUMENT`.
 * @category Validation
 */
export function assertDistance(
  distance: unknown,
  fn: string,
  example = 'lpDistance()',
  argument = 'distance',
): asserts distance is Distance {
  const candidate = distance as Partial<Distance> | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.pairwise !== 'function' ||
    typeof candidate.isSimilarity !== 'boolean'
  ) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${fn}' must be a Distance (e.g. ${example}), got ${describeKind(candidate)}`,
    );
  }
}

function assertIndexPair(rows: unknown, cols: unknown, rowsName: string, colsName: string, fn: string): void {
  assertTensor(rows, 1, `tuples.${rowsName}`, fn, 'int32');
  assertTensor(cols, 1, `tuples.${colsName}`, fn, 'int32');
  const expected = rows.shape[0] as number;
  const received = cols.shape[0] as number;
  if (received !== expected) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'tuples.${colsName}' passed to '${fn}' must have ${expected} entries (one per entry of 'tuples.${rowsName}'), got ${received}`,
    );
  }
}

/**
 * Throws unless `tuples` are {@link Tuples}: pair or triplet tuples of int32 index vectors of
 * matching lengths (the index values are not range-checked: that would read them on the host).
 *
 * @param tuples - the received value.
 * @param fn - the calling function's name.
 * @throws {@link ContrastiveError} `INVALID_ARGUMENT`, `DTYPE_MISMATCH`, `SHAPE_MISMATCH` or
 * `DISPOSED` naming the field (`tuples.anchor`, ...).
 * @category Validation
 */
export function assertTuples(tuples: unknown, fn: string): asserts tuples is Tuples {
  if (tuples === null || typeof tuples !== 'object') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'tuples' passed to '${fn}' must be pair or triplet tuples, got ${describeKind(tuples)}`,
    );
  }
  assertOneOf((tuples as { kind?: unknown }).kind, ['pairs', 'triplets'] as const, 'tuples.kind', fn);
  const checked = tuples as Tuples;
  switch (checked.kind) {
    case 'pairs':
      assertIndexPair(checked.anchorPos, checked.positive, 'anchorPos', 'positive', fn);
      assertIndexPair(checked.anchorNeg, checked.negative, 'anchorNeg', 'negative', fn);
      return;
    case 'triplets':
      assertIndexPair(checked.anchor, checked.positive, 'anchor', 'positive', fn);
      assertIndexPair(checked.anchor, checked.negative, 'anchor', 'negative', fn);
      return;
    default: {
      const unreachable: never = checked;
      return unreachable;
    }
  }
}

/**
 * Throws unless `ref` is a {@link Reference} `{ embeddings, labels }` whose embeddings have the
 * columns of `embeddings` and one int32 label per row.
 *
 * @param ref - the received value.
 * @param embeddings - `[n, d]` the batch it is compared with.
 * @param fn - the calling function's name.
 * @throws {@link ContrastiveError} naming `ref`, `ref.embeddings` or `ref.labels`.
 * @category Validation
 */
export function assertReference(ref: unknown, embeddings: Embeddings, fn: string): asserts ref is Reference {
  if (ref === null || typeof ref !== 'object') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'ref' passed to '${fn}' must be { embeddings, labels }, got ${describeKind(ref)}`,
    );
  }
  const { embeddings: refEmbeddings, labels: refLabels } = ref as Partial<Reference>;
  assertEmbeddings(refEmbeddings, 'ref.embeddings', fn);
  assertSameDims(embeddings, refEmbeddings, 'ref.embeddings', fn);
  assertLabels(refLabels, refEmbeddings.shape[0], 'ref.labels', fn);
}
