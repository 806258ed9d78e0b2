/**
 * Test support for the augmentation tests (not built, not published): run a computation on the
 * cpu and on the wasm backend, and compare the two outputs bit for bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useTestBackend } from '@contrastive/core/testing';
import { expect } from 'vitest';

/** Register both backends (the cross-backend tests switch between them), then select the one CONTRASTIVE_TEST_BACKEND asks for. */
export async function useCpuAndWasm(): Promise<void> {
  await useTestBackend('cpu');
  await useTestBackend('wasm');
  await useTestBackend();
}

async function onEachBackend<T>(make: () => tf.Tensor, read: (out: tf.Tensor) => T): Promise<[T, T]> {
  const original = tf.getBackend() as 'cpu' | 'wasm';
  const outputs: T[] = [];
  try {
    for (const backend of ['cpu', 'wasm'] as const) {
      await useTestBackend(backend);
      const out = tf.tidy(make);
      outputs.push(read(out));
      out.dispose();
    }
  } finally {
    await useTestBackend(original);
  }
  return [outputs[0] as T, outputs[1] as T];
}

/** Run `make` on the cpu and on the wasm backend (inputs must be made inside it); both outputs as host arrays, in that order. Restores the backend. */
export function onCpuAndWasm(make: () => tf.Tensor): Promise<[Float32Array, Float32Array]> {
  return onEachBackend(make, (out) => Float32Array.from(out.dataSync()));
}

/** {@link onCpuAndWasm} with the outputs as plain number arrays (int32 values kept as they are). */
export async function onBothBackends(make: () => tf.Tensor): Promise<{ cpu: number[]; wasm: number[] }> {
  const [cpu, wasm] = await onEachBackend(make, (out) => Array.from(out.dataSync()));
  return { cpu, wasm };
}

/** The same values on both backends (0 and -0 count as equal, as do two NaNs). */
export function expectBitIdentical([cpu, wasm]: [Float32Array, Float32Array]): void {
  expect(cpu.length).toBe(wasm.length);
  for (let i = 0; i < cpu.length; i++) {
    if (!Object.is(cpu[i], wasm[i]) && !(cpu[i] === 0 && wasm[i] === 0)) {
      throw new Error(`element ${i}: cpu ${cpu[i]}, wasm ${wasm[i]}`);
    }
  }
}

/** Same bits (Float32Array contents compared as uint32, so -0 differs from 0 and NaN is caught). */
export function expectSameBits(actual: Float32Array, expected: Float32Array, what = 'outputs'): void {
  expect(actual.length, what).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) throw new Error(`${what}: element ${i} differs: ${actual[i]} vs ${expected[i]}`);
  }
}
