/**
 * Test helpers shared by every package: leak checks, tensor comparison with named tolerances, and
 * numerical gradient checks against a float64 plain-JS reference. Framework-agnostic: they throw
 * `Error` on failure, so they work in vitest, jest or node:test.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../backend/select.js';
import { isContrastiveError } from '../errors.js';
import type { ContrastiveErrorCode } from '../errors.js';

/** Absolute and relative tolerance: `|a - e| <= atol + rtol * |e|`. @category Testing */
export interface Tolerance {
  /** @defaultValue 1e-5 */
  readonly atol?: number;
  /** @defaultValue 1e-4 */
  readonly rtol?: number;
}

/** float32 implementation vs float64 reference (STYLE.md). @category Testing */
export const FLOAT32_TOLERANCE: Required<Tolerance> = { atol: 1e-5, rtol: 1e-4 };
/** Long reductions in float32. @category Testing */
export const LOOSE_TOLERANCE: Required<Tolerance> = { atol: 1e-3, rtol: 1e-3 };

/** A number or arbitrarily nested arrays of numbers. @category Testing */
export type Nested = number | readonly Nested[];

function flatten(value: Nested | ArrayLike<number>): number[] {
  if (typeof value === 'number') return [value];
  const out: number[] = [];
  const walk = (item: unknown): void => {
    if (typeof item === 'number') out.push(item);
    else if (ArrayBuffer.isView(item)) out.push(...Array.from(item as unknown as ArrayLike<number>));
    else for (const child of item as readonly unknown[]) walk(child);
  };
  walk(value);
  return out;
}

/**
 * Assert that `actual` equals `expected` element-wise within a tolerance, and (when `expected` is a
 * tensor) has the same shape.
 *
 * @param actual - tensor under test (borrowed).
 * @param expected - tensor, nested array, typed array or number.
 * @param tolerance - @defaultValue {@link FLOAT32_TOLERANCE}
 * @throws Error listing the worst element.
 * @category Testing
 */
export function expectTensorClose(
  actual: tf.Tensor,
  expected: tf.Tensor | Nested | ArrayLike<number>,
  tolerance: Tolerance = FLOAT32_TOLERANCE,
): void {
  const atol = tolerance.atol ?? FLOAT32_TOLERANCE.atol;
  const rtol = tolerance.rtol ?? FLOAT32_TOLERANCE.rtol;
  let want: number[];
  if (expected instanceof tf.Tensor) {
    if (expected.shape.join(',') !== actual.shape.join(',')) {
      throw new Error(`shape mismatch: got [${actual.shape.join(', ')}], expected [${expected.shape.join(', ')}]`);
    }
    want = Array.from(expected.dataSync());
  } else {
    want = flatten(expected as Nested);
  }
  const got = Array.from(actual.dataSync());
  if (got.length !== want.length) throw new Error(`size mismatch: got ${got.length} elements, expected ${want.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < got.length; i++) {
    const a = got[i] as number;
    const e = want[i] as number;
    if (Number.isNaN(a) || Number.isNaN(e)) {
      if (Number.isNaN(a) && Number.isNaN(e)) continue;
      throw new Error(`element ${i}: got ${a}, expected ${e}`);
    }
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `element ${worst} of [${actual.shape.join(', ')}]: got ${got[worst]}, expected ${want[worst]} (atol ${atol}, rtol ${rtol})`,
    );
  }
}

/**
 * Run `fn` and assert that the number of live tensors afterwards equals the number before, plus
 * `expectedNew` (tensors the caller intends to keep, e.g. returned ones it disposes later).
 *
 * @param fn - sync or async function; its result is returned.
 * @param expectedNew - tensors allowed to stay alive. @defaultValue 0
 * @returns what `fn` returned.
 * @throws Error naming how many tensors leaked.
 * @category Testing
 */
export async function expectNoLeak<T>(fn: () => T | Promise<T>, expectedNew = 0): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  const after = tf.memory().numTensors;
  if (after - before !== expectedNew) {
    throw new Error(`tensor leak: ${after - before} tensors left alive (expected ${expectedNew}); before ${before}, after ${after}`);
  }
  return result;
}

/** Options of {@link checkGradients}. @category Testing */
export interface CheckGradientsOptions extends Tolerance {
  /** Central-difference step (applied to the float64 reference). @defaultValue 1e-6 */
  readonly step?: number;
  /** Also compare the tf value with the reference value. @defaultValue true */
  readonly checkValue?: boolean;
}

/**
 * Numerical gradient check: the tf.js gradient of `tfFn` at `point` is compared with central
 * differences of `referenceFn`, a float64 plain-JS implementation of the same function (written as
 * obvious loops from the paper). Choose points away from hinge kinks.
 *
 * @param tfFn - maps a `[n, d]` float32 tensor to a scalar; must not dispose its input.
 * @param referenceFn - the same function on float64 rows.
 * @param point - `[n][d]` evaluation point.
 * @param options - step and tolerance. @defaultValue atol 1e-4, rtol 1e-3
 * @returns the tf gradient and the numerical gradient, for further inspection.
 * @throws Error naming the worst element.
 * @category Testing
 */
export function checkGradients(
  tfFn: (x: tf.Tensor2D) => tf.Scalar,
  referenceFn: (x: number[][]) => number,
  point: readonly (readonly number[])[],
  options: CheckGradientsOptions = {},
): { analytic: number[][]; numeric: number[][] } {
  const step = options.step ?? 1e-6;
  const tolerance: Tolerance = { atol: options.atol ?? 1e-4, rtol: options.rtol ?? 1e-3 };
  const rows = point.map((row) => [...row]);
  const numeric = rows.map((row, i) =>
    row.map((_, j) => {
      const plus = rows.map((r) => [...r]);
      const minus = rows.map((r) => [...r]);
      (plus[i] as number[])[j] = (row[j] as number) + step;
      (minus[i] as number[])[j] = (row[j] as number) - step;
      return (referenceFn(plus) - referenceFn(minus)) / (2 * step);
    }),
  );
  const x = tf.tensor2d(rows);
  try {
    const { value, grad } = tf.valueAndGrad((input: tf.Tensor) => tfFn(input as tf.Tensor2D))(x);
    try {
      if (options.checkValue ?? true) expectTensorClose(value, referenceFn(rows), tolerance);
      expectTensorClose(grad, numeric, tolerance);
      return { analytic: grad.arraySync() as number[][], numeric };
    } finally {
      tf.dispose([value, grad]);
    }
  } finally {
    x.dispose();
  }
}

/**
 * Select the backend a test run uses: `CONTRASTIVE_TEST_BACKEND` (`wasm` or `cpu`), or `wasm` by
 * default — the backend this toolkit must train on without a native download. Also loads
 * `@tensorflow/tfjs-layers`, which registers the gradients bare tfjs-core lacks in Node.
 *
 * @param backend - force a backend regardless of the environment.
 * @returns the backend in use.
 * @category Testing
 */
export async function useTestBackend(backend?: 'wasm' | 'cpu'): Promise<'wasm' | 'cpu'> {
  await import('@tensorflow/tfjs-layers');
  const fromEnv = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[
    'CONTRASTIVE_TEST_BACKEND'
  ];
  const name = backend ?? (fromEnv === 'cpu' ? 'cpu' : 'wasm');
  await selectBackend({ preference: name, log: false });
  return name;
}

/**
 * Assert that `fn` throws a `ContrastiveError` with the given `code` and a message matching
 * `message`.
 *
 * @param fn - the call expected to throw.
 * @param code - the expected {@link ContrastiveErrorCode}.
 * @param message - a pattern the message must match.
 * @throws Error when `fn` returns, throws something else, or the code or message differ.
 * @category Testing
 */
export function expectContrastiveError(fn: () => unknown, code: ContrastiveErrorCode, message: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) throw new Error(`expected a ContrastiveError ${code}, but nothing was thrown`);
  if (!isContrastiveError(thrown)) throw new Error(`expected a ContrastiveError ${code}, got ${String(thrown)}`);
  if (thrown.code !== code) throw new Error(`expected error code ${code}, got ${thrown.code}: ${thrown.message}`);
  if (!message.test(thrown.message)) throw new Error(`error message ${JSON.stringify(thrown.message)} does not match ${String(message)}`);
}

/**
 * Smallest and largest element of a tensor (NaN-free input assumed).
 *
 * @param tensor - any tensor (borrowed).
 * @returns `[min, max]`; `[Infinity, -Infinity]` for an empty tensor.
 * @category Testing
 */
export function valueRange(tensor: tf.Tensor): [number, number] {
  const values = tensor.dataSync();
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (value < low) low = value;
    if (value > high) high = value;
  }
  return [low, high];
}

/**
 * One bad-input case of the reliability battery: calling `run` must throw (or reject with) a
 * `ContrastiveError` with `code` whose message names `argument` (`Argument '<argument>' ...`).
 * @category Testing
 */
export interface BadInputCase {
  /** What is wrong, for the test name (e.g. 'labels of the wrong length'). */
  readonly what: string;
  /** The call with the bad input; may return a promise. */
  readonly run: () => unknown;
  /** The expected error code. */
  readonly code: ContrastiveErrorCode;
  /** The argument the message must name; `null` when the error is not about one argument (e.g. `DISPOSED` state). */
  readonly argument: string | null;
}

/**
 * The battery's entry for one export: its bad-input cases, or why it needs none (a constant, a
 * class whose methods are covered through a factory, ...).
 * @category Testing
 */
export type ExportCoverage = readonly BadInputCase[] | { readonly exempt: string };

/**
 * Assert that `run` throws or rejects with a `ContrastiveError` of `code` naming `argument`.
 *
 * @param run - the call (sync or async).
 * @param code - the expected {@link ContrastiveErrorCode}.
 * @param argument - the argument name the message must contain as `'<argument>'`, or `null`.
 * @returns a promise that rejects with a descriptive Error when the expectation fails.
 * @category Testing
 */
export async function expectRejectsContrastive(run: () => unknown, code: ContrastiveErrorCode, argument: string | null): Promise<void> {
  let thrown: unknown;
  let returned: unknown;
  try {
    returned = await run();
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) {
    if (returned instanceof tf.Tensor) returned.dispose();
    throw new Error(`expected a ContrastiveError ${code}${argument === null ? '' : ` naming '${argument}'`}, but the call returned`);
  }
  if (!isContrastiveError(thrown)) throw new Error(`expected a ContrastiveError ${code}, got ${String(thrown)}`);
  if (thrown.code !== code) throw new Error(`expected error code ${code}, got ${thrown.code}: ${thrown.message}`);
  if (argument !== null && !thrown.message.includes(`'${argument}'`)) {
    throw new Error(`error message ${JSON.stringify(thrown.message)} does not name the argument '${argument}'`);
  }
}

/**
 * The runtime exports of a package index that have no entry in `coverage`, and the entries that
 * name no export (stale). The battery test of each package asserts both lists are empty, so a new
 * export without a bad-input case fails the suite.
 *
 * @param api - the package index (`import * as api from './index.js'`).
 * @param coverage - one entry per export.
 * @returns `{ missing, stale }`, sorted.
 * @category Testing
 */
export function exportCoverageGaps(api: Readonly<Record<string, unknown>>, coverage: Readonly<Record<string, ExportCoverage>>): { missing: string[]; stale: string[] } {
  const names = Object.keys(api).filter((name) => name !== 'default');
  const missing = names.filter((name) => !(name in coverage)).sort();
  const stale = Object.keys(coverage).filter((name) => !names.includes(name)).sort();
  return { missing, stale };
}
