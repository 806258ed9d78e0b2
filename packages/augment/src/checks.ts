/**
 * Argument checks shared by the augmentations (internal: not exported from the package).
 *
 * @packageDocumentation
 */
import type * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, type Rng, assertNumber, assertTensor } from '@contrastive/core';
import type { Augmentation } from './augmentation.js';

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

/**
 * Throws unless `values` is array-like with `count` entries; `what` names the entries and `layout`
 * the count in messages. Returns `values` as an `ArrayLike`.
 * @internal
 */
export function assertLength(
  values: unknown,
  count: number,
  argument: string,
  fn: string,
  what: string,
  layout = 'one per image',
): ArrayLike<unknown> {
  const length = (values as { length?: unknown } | null | undefined)?.length;
  if (values === null || typeof values !== 'object' || typeof length !== 'number') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${fn}' must be an array of ${count} ${what}, got ${describeValue(values)}`,
    );
  }
  if (length !== count) {
    throw new ContrastiveError('SHAPE_MISMATCH', `Argument '${argument}' passed to '${fn}' must have ${count} entries (${layout}), got ${length}`);
  }
  return values as ArrayLike<unknown>;
}

/**
 * Copies `count` finite numbers (checked, in range) into a Float64Array. `layout` names the count
 * in messages, e.g. `'n f = 2*3'`.
 * @internal
 */
export function numberArray(
  values: unknown,
  count: number,
  argument: string,
  fn: string,
  layout: string,
  range: { min?: number; max?: number; exclusiveMin?: boolean; integer?: boolean } = {},
): Float64Array {
  const list = assertLength(values, count, argument, fn, 'numbers', layout);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const value = list[i];
    assertNumber(value, `${argument}[${i}]`, fn, range);
    out[i] = value;
  }
  return out;
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
  return numberArray(values, count, argument, fn, 'one per image', range);
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

/** Throws unless `shape` is an array of `rank` positive integers. @internal */
export function assertShape(shape: unknown, rank: number, fn: string, layout: string): asserts shape is readonly number[] {
  if (!Array.isArray(shape) || shape.length !== rank) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'shape' passed to '${fn}' must be ${layout}, got ${describeValue(shape)}`);
  }
  shape.forEach((size, axis) => assertNumber(size, `shape[${axis}]`, fn, { integer: true, min: 1 }));
}

/**
 * Throws `INVALID_ARGUMENT` unless `value` is a non-null object (an options or params argument);
 * `fields` (e.g. `'{ flip }'`) follows "must be an object" in the message. Arrays pass unless
 * `arrays` is false.
 * @internal
 */
export function assertObject(value: unknown, argument: string, fn: string, fields = '', arrays = true): asserts value is object {
  if (value === null || typeof value !== 'object' || (!arrays && Array.isArray(value))) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${fn}' must be an object${fields === '' ? '' : ` ${fields}`}, got ${describeValue(value)}`,
    );
  }
}

/**
 * Throws `INVALID_ARGUMENT` unless `value` is an object with an `apply` method.
 * @internal
 */
export function assertAugmentation(value: unknown, argument: string, fn: string): asserts value is Augmentation {
  const candidate = value as Partial<Augmentation> | null;
  if (candidate === null || typeof candidate !== 'object' || typeof candidate.apply !== 'function') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${fn}' must be an Augmentation (with an apply method), got ${describeValue(value)}`,
    );
  }
}

/** The largest finite float32, `(2 - 2^-23) 2^127`. @internal */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** The smallest positive normal float32, `2^-126`. @internal */
export const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

/**
 * The nearest number in the finite float32 range `[-FLOAT32_MAX, FLOAT32_MAX]` (a drawn factor that
 * would round to ±Infinity in a float32 tensor).
 * @internal
 */
export function clampToFloat32(value: number): number {
  return Math.min(FLOAT32_MAX, Math.max(-FLOAT32_MAX, value));
}

/**
 * Throws `INVALID_ARGUMENT` unless the finite number `value` is also finite in float32
 * (`|value| <= FLOAT32_MAX`): a larger one becomes ±Infinity in a float32 tensor, and NaN where it
 * meets a 0 (`Infinity * 0`). Call after the argument's own range check, which keeps its message.
 * @internal
 */
export function assertFloat32(value: number, argument: string, fn: string): void {
  if (Math.abs(value) > FLOAT32_MAX) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${fn}' must be finite in float32 (magnitude <= ${FLOAT32_MAX}), got ${value}`,
    );
  }
}

/** {@link assertFloat32} for every entry, naming `argument[i]`. @internal */
export function assertFloat32Entries(values: ArrayLike<number>, argument: string, fn: string): void {
  for (let i = 0; i < values.length; i++) assertFloat32(values[i] as number, `${argument}[${i}]`, fn);
}

/** The methods of core's `Rng` that the augmentations call. */
const RNG_METHODS = ['uniform', 'normal', 'int', 'permutation', 'choice', 'normalArray', 'fork', 'clone'] as const;

/**
 * Throws `INVALID_ARGUMENT` unless `value` is an `Rng` of `@contrastive/core` (checked by its
 * methods, so that a second copy of core in one install still passes).
 * @internal
 */
export function assertRng(value: unknown, fn: string, argument = 'rng'): asserts value is Rng {
  const candidate = value as Record<string, unknown> | null;
  if (candidate === null || typeof candidate !== 'object' || RNG_METHODS.some((method) => typeof candidate[method] !== 'function')) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${fn}' must be an Rng of @contrastive/core (e.g. new Rng(0)), got ${describeValue(value)}`,
    );
  }
}

/**
 * One `rng.uniform()` coin per image, in index order: `1` where the draw is `< probability`.
 * @internal
 */
export function drawCoins(n: number, rng: Rng, probability: number): Uint8Array {
  const flags = new Uint8Array(n);
  for (let i = 0; i < n; i++) flags[i] = rng.uniform() < probability ? 1 : 0;
  return flags;
}

/** Round half to even, like Python's `round` and C's `nearbyint`. @internal */
export function roundHalfEven(value: number): number {
  const rounded = Math.round(value); // ties go up
  return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
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
