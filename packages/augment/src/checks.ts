/**
 * Argument checks shared by the augmentations (internal: not exported from the package).
 *
 * @packageDocumentation
 */
import type * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, assertTensor } from '@contrastive/core';

/** A closed interval `[low, high]` of a hyper-parameter. @category Augmentation */
export type Interval = readonly [low: number, high: number];

/**
 * Throws unless `images` is a live `[n, h, w, c]` float32 tensor with every dimension >= 1.
 * @internal
 */
export function assertImages(images: unknown, fn: string): asserts images is tf.Tensor4D {
  assertTensor(images, 4, 'images', fn, 'float32');
  const shape = (images as tf.Tensor4D).shape;
  if (shape.some((size) => size < 1)) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'images' passed to '${fn}' must be [n, h, w, c] with every dimension >= 1, got [${shape.join(', ')}]`,
    );
  }
}

/**
 * Throws unless `value` is a probability in [0, 1].
 * @internal
 */
export function assertProbability(value: unknown, argument: string, fn: string): asserts value is number {
  assertNumber(value, argument, fn, { min: 0, max: 1 });
}

/**
 * Throws unless `value` is a pair `[low, high]` of finite numbers with `low <= high`, both inside
 * the given bounds.
 * @internal
 */
export function assertInterval(
  value: unknown,
  argument: string,
  fn: string,
  bounds: { min?: number; max?: number; exclusiveMin?: boolean },
): asserts value is Interval {
  if (!Array.isArray(value) || value.length !== 2) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${fn}' must be a pair [low, high], got ${describeValue(value)}`,
    );
  }
  assertNumber(value[0], `${argument}[0]`, fn, bounds);
  assertNumber(value[1], `${argument}[1]`, fn, bounds);
  if (value[0] > value[1]) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${fn}' must have low <= high, got [${value[0]}, ${value[1]}]`,
    );
  }
}

/**
 * Throws unless `size` is `[height, width]` of positive integers.
 * @internal
 */
export function assertSize(value: unknown, argument: string, fn: string): asserts value is readonly [number, number] {
  if (!Array.isArray(value) || value.length !== 2) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${fn}' must be [height, width], got ${describeValue(value)}`,
    );
  }
  assertNumber(value[0], `${argument}[0]`, fn, { integer: true, min: 1 });
  assertNumber(value[1], `${argument}[1]`, fn, { integer: true, min: 1 });
}

function assertLength(values: unknown, count: number, argument: string, fn: string, what: string): ArrayLike<unknown> {
  const length = (values as { length?: unknown } | null | undefined)?.length;
  if (values === null || typeof values !== 'object' || typeof length !== 'number') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${fn}' must be an array of ${count} ${what}, got ${describeValue(values)}`,
    );
  }
  if (length !== count) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument '${argument}' passed to '${fn}' must have ${count} entries (one per image), got ${length}`,
    );
  }
  return values as ArrayLike<unknown>;
}

/**
 * Copies one finite number per image into a Float64Array, checking the count and each value.
 * @internal
 */
export function perImageNumbers(
  values: unknown,
  count: number,
  argument: string,
  fn: string,
  range: { min?: number; max?: number; exclusiveMin?: boolean } = {},
): Float64Array {
  const list = assertLength(values, count, argument, fn, 'numbers');
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const value = list[i];
    assertNumber(value, `${argument}[${i}]`, fn, range);
    out[i] = value;
  }
  return out;
}

/**
 * Copies one boolean per image into a Uint8Array (1 = true), checking the count and each value.
 * @internal
 */
export function perImageFlags(values: unknown, count: number, argument: string, fn: string): Uint8Array {
  const list = assertLength(values, count, argument, fn, 'booleans');
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const value = list[i];
    if (typeof value !== 'boolean') {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument '${argument}[${i}]' passed to '${fn}' must be a boolean, got ${describeValue(value)}`,
      );
    }
    out[i] = value ? 1 : 0;
  }
  return out;
}

/** Short description of a received value for error messages. @internal */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return value.length <= 8 ? `[${value.map(describeValue).join(', ')}]` : `an array of ${value.length}`;
  return typeof value;
}
