import type * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError } from './errors.js';
import type { Embeddings, Labels } from './types.js';

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
  const lower = min === undefined ? '' : `${exclusiveMin ? '>' : '>='} ${min}`;
  const upper = max === undefined ? '' : `${exclusiveMax ? '<' : '<='} ${max}`;
  const bound = [lower, upper].filter((part) => part !== '').join(' and ');
  const expected = `${integer ? 'an integer' : 'a finite number'}${bound === '' ? '' : ` ${bound}`}`;
  const fail = (): never => {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${fn}' must be ${expected}, got ${describe(value)}`,
    );
  };
  if (typeof value !== 'number' || !Number.isFinite(value)) fail();
  const number = value as number;
  if (integer && !Number.isInteger(number)) fail();
  if (min !== undefined && (exclusiveMin ? number <= min : number < min)) fail();
  if (max !== undefined && (exclusiveMax ? number >= max : number > max)) fail();
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
 * Throws unless two embedding matrices have the same number of columns.
 *
 * @param a - first `[n, d]` tensor.
 * @param b - second `[m, d]` tensor.
 * @param argument - the second argument's name.
 * @param fn - the calling function's name.
 * @throws {@link ContrastiveError} `SHAPE_MISMATCH`.
 * @category Validation
 */
export function assertSameDims(a: Embeddings, b: Embeddings, argument: string, fn: string): void {
  if (a.shape[1] !== b.shape[1]) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument '${argument}' passed to '${fn}' must have ${a.shape[1]} columns (the embeddings' dimension), got ${b.shape[1]}`,
    );
  }
}
