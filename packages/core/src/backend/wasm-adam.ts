/**
 * The fused Adam step as a kernel of the wasm backend (inputs `value`, `m`, `v`, `gradient` and the
 * accumulators `accBeta1`, `accBeta2`; the step's constants as attributes; outputs
 * `[value', m', v']`), used by {@link adam}'s optimizer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asWasmBackend, kernelInput, type WasmKernelArgs } from './wasm-heap.js';
import { adamUpdateNative, nativeActive, type AdamScalars } from './wasm-native.js';

/** The kernel's name. @internal */
export const ADAM_KERNEL = 'ContrastiveAdam';

/** The kernel: throws when the native module is not loaded (callers check {@link adamKernelActive}). @internal */
export function adamWasm(args: WasmKernelArgs): tf.TensorInfo[] {
  const backend = asWasmBackend(args.backend, ADAM_KERNEL);
  const out = adamUpdateNative(
    backend,
    kernelInput(args.inputs, 'value', ADAM_KERNEL),
    kernelInput(args.inputs, 'm', ADAM_KERNEL),
    kernelInput(args.inputs, 'v', ADAM_KERNEL),
    kernelInput(args.inputs, 'gradient', ADAM_KERNEL),
    kernelInput(args.inputs, 'accBeta1', ADAM_KERNEL),
    kernelInput(args.inputs, 'accBeta2', ADAM_KERNEL),
    args.attrs as unknown as AdamScalars,
  );
  if (out === null) throw new Error(`${ADAM_KERNEL}: the native kernels are not loaded`);
  return out;
}

/** Whether the fused step runs on the active backend (wasm with the toolkit's native kernels). @internal */
export function adamKernelActive(): boolean {
  return nativeActive() && tf.getKernel(ADAM_KERNEL, 'wasm') !== undefined;
}
