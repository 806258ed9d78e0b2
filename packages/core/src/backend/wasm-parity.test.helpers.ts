/**
 * Test helpers of the wasm kernels (not part of the package: `*.test.*` files are left out of the
 * published files): run the same computation on the wasm and the cpu backend and compare.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { originalKernel } from './wasm-heap.js';
import { expectTensorClose, useTestBackend, type Tolerance } from '../testing/index.js';

/** wasm vs cpu: both float32, different summation orders. @category Testing */
export const PARITY_TOLERANCE: Required<Tolerance> = { atol: 1e-4, rtol: 1e-4 };

/**
 * Select wasm (with the toolkit's kernels, through `selectBackend`) and load the cpu backend.
 *
 * @returns nothing; wasm is the active backend afterwards.
 * @category Testing
 */
export async function useWasmWithCpuReference(): Promise<void> {
  await import('@tensorflow/tfjs-backend-cpu');
  await useTestBackend('wasm');
}

/**
 * Deterministic pseudo-random values in `[-1, 1)`, rounded to `1 / levels` when `levels` is given
 * (to create ties).
 *
 * @param size - number of values.
 * @param seed - generator seed.
 * @param levels - quantisation steps per unit, or 0 for none. @defaultValue 0
 * @returns `size` values.
 * @category Testing
 */
export function values(size: number, seed: number, levels = 0): Float32Array {
  const out = new Float32Array(size);
  let state = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const value = (state / 2 ** 32) * 2 - 1;
    out[i] = levels > 0 ? Math.round(value * levels) / levels : value;
  }
  return out;
}

interface Captured {
  readonly shape: number[];
  readonly dtype: tf.DataType;
  readonly data: tf.TypedArray;
}

function capture(fn: () => tf.Tensor | tf.Tensor[]): Captured[] {
  const result = tf.tidy(fn);
  const tensors = Array.isArray(result) ? result : [result];
  try {
    return tensors.map((tensor) => ({ shape: tensor.shape, dtype: tensor.dtype, data: tensor.dataSync() as tf.TypedArray }));
  } finally {
    tf.dispose(tensors);
  }
}

/**
 * Run `fn` on wasm and on cpu (inputs must be made inside `fn`, from plain arrays) and assert that
 * the outputs agree in shape, dtype and value. Also asserts that `fn` on wasm leaves no tensor and
 * no wasm heap buffer behind. Ends on the wasm backend.
 *
 * @param fn - builds its inputs and returns one or more tensors.
 * @param tolerance - @defaultValue {@link PARITY_TOLERANCE}
 * @returns the wasm outputs as plain arrays, for further checks.
 * @throws Error naming the first mismatch.
 * @category Testing
 */
export async function expectWasmMatchesCpu(
  fn: () => tf.Tensor | tf.Tensor[],
  tolerance: Tolerance = PARITY_TOLERANCE,
): Promise<Captured[]> {
  await tf.setBackend('wasm');
  const tensorsBefore = tf.memory().numTensors;
  const buffersBefore = tf.backend().numDataIds();
  const wasm = capture(fn);
  const tensorsAfter = tf.memory().numTensors;
  const buffersAfter = tf.backend().numDataIds();
  if (tensorsAfter !== tensorsBefore || buffersAfter !== buffersBefore) {
    throw new Error(`leak on wasm: tensors ${tensorsBefore} -> ${tensorsAfter}, heap buffers ${buffersBefore} -> ${buffersAfter}`);
  }
  await tf.setBackend('cpu');
  try {
    const cpu = capture(fn);
    if (cpu.length !== wasm.length) throw new Error(`wasm gave ${wasm.length} outputs, cpu ${cpu.length}`);
    cpu.forEach((expected, i) => {
      const got = wasm[i] as Captured;
      if (got.dtype !== expected.dtype) throw new Error(`output ${i}: dtype ${got.dtype} on wasm, ${expected.dtype} on cpu`);
      const actual = tf.tensor(got.data, got.shape, got.dtype);
      const reference = tf.tensor(expected.data, expected.shape, expected.dtype);
      try {
        expectTensorClose(actual, reference, tolerance);
      } catch (error) {
        throw new Error(`output ${i}: ${(error as Error).message}`);
      } finally {
        tf.dispose([actual, reference]);
      }
    });
  } finally {
    await tf.setBackend('wasm');
  }
  return wasm;
}

/**
 * Run a kernel function directly on the wasm backend (to pass options the registry cannot) and
 * return its output as a tensor owned by the caller.
 *
 * @param kernel - the kernel function.
 * @param inputs - named input tensors (borrowed).
 * @param attrs - kernel attributes.
 * @returns the output tensor.
 * @category Testing
 */
export function runOnWasm(
  kernel: (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => tf.TensorInfo,
  inputs: Record<string, tf.Tensor>,
  attrs: tf.NamedAttrMap,
): tf.Tensor {
  const info = kernel({ inputs, backend: tf.backend(), attrs });
  return tf.engine().makeTensorFromTensorInfo(info);
}

/** Data of `fn()` on one backend (tidied). */
export async function on(backend: 'wasm' | 'cpu', fn: () => tf.Tensor): Promise<{ shape: number[]; dtype: tf.DataType; data: number[] }> {
  await tf.setBackend(backend);
  try {
    const result = tf.tidy(fn);
    const out = { shape: result.shape, dtype: result.dtype, data: Array.from(result.dataSync() as ArrayLike<number>) };
    result.dispose();
    return out;
  } finally {
    await tf.setBackend('wasm');
  }
}

/** The backend's own kernel (as shipped, before registerWasmKernels) on the same inputs. */
export function shipped(kernelName: string, inputs: Record<string, tf.Tensor>, attrs: tf.NamedAttrMap = {}): number[] {
  const kernel = originalKernel(kernelName);
  if (kernel === undefined) throw new Error(`no ${kernelName}`);
  const out = runOnWasm((args) => kernel(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo, inputs, attrs);
  const data = Array.from(out.dataSync() as ArrayLike<number>);
  out.dispose();
  return data;
}

/** Every element equal (NaN equal to NaN, 0 equal to -0 only where `signedZero` is off). */
export function expectSame(actual: readonly number[], expected: readonly number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const b = expected[i] as number;
    if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
    throw new Error(`${what}: element ${i} is ${a}, expected ${b}`);
  }
}

/** |a - b| <= 1e-5 max(1, |b|), and the same NaN and infinities. */
export function expectWithin1e5(actual: readonly number[], expected: readonly number[], what: string): number {
  expect(actual.length, what).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const b = expected[i] as number;
    if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
    if (!Number.isFinite(a) || !Number.isFinite(b)) throw new Error(`${what}: element ${i} is ${a}, expected ${b}`);
    const error = Math.abs(a - b) / Math.max(1, Math.abs(b));
    if (error > 1e-5) throw new Error(`${what}: element ${i} is ${a}, expected ${b} (error ${error})`);
    worst = Math.max(worst, Math.abs(b) > 1e-30 ? Math.abs(a - b) / Math.abs(b) : 0);
  }
  return worst;
}
