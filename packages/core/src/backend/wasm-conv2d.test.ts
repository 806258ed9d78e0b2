import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { conv2DBackpropFilterWasm } from './wasm-conv2d-backprop-filter.js';
import { conv3x3NativeFits } from './wasm-native.js';
import { expectWasmMatchesCpu, runOnWasm, shipped, useWasmWithCpuReference, values } from './wasm-parity.test.helpers.js';

beforeAll(async () => {
  await useWasmWithCpuReference();
});

type Shape4 = [number, number, number, number];

/** max |a - b| <= 1e-5 · max |b|: Winograd's transforms move each sum by a few roundings of its largest terms. */
function expectCloseToScale(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): number {
  expect(actual.length, what).toBe(expected.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i] as number));
    worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
  }
  expect(Number.isFinite(worst), what).toBe(true);
  expect(scale, what).toBeGreaterThan(0);
  expect(worst / scale, what).toBeLessThanOrEqual(1e-5);
  return worst / scale;
}

/** Data ids on the wasm heap: a kernel must free its scratch. */
function heapBuffers(): number {
  return tf.backend().numDataIds();
}

const SAME_ATTRS = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1] } as unknown as tf.NamedAttrMap;

// The reference CNN's second convolution (smaller batch), odd sizes (tiles past the edge), a 28x28
// map, and the input-gradient shape (64 -> 32 channels): all taken by the Winograd kernel.
const WINOGRAD: { x: Shape4; filter: Shape4 }[] = [
  { x: [8, 14, 14, 32], filter: [3, 3, 32, 64] },
  { x: [40, 15, 13, 8], filter: [3, 3, 8, 16] },
  { x: [3, 28, 28, 32], filter: [3, 3, 32, 64] },
  { x: [8, 14, 14, 64], filter: [3, 3, 64, 32] },
];

describe('Conv2D on wasm (Winograd F(2x2, 3x3) for 3x3 "same")', () => {
  it.each(WINOGRAD)('conv2d($x, $filter) is within 1e-5 of the shipped XNNPACK kernel and matches cpu', async ({ x, filter }) => {
    const info = tf.backend_util.computeConv2DInfo(x, filter, 1, 1, 'same');
    expect(conv3x3NativeFits(info)).toBe(true);
    const inputs = () => ({ x: tf.tensor4d(values(tf.util.sizeFromShape(x), 1), x), filter: tf.tensor4d(values(tf.util.sizeFromShape(filter), 2).map((v) => v * 0.2), filter) });
    const [ours] = await expectWasmMatchesCpu(() => tf.conv2d(inputs().x, inputs().filter as tf.Tensor4D, 1, 'same'));
    const made = inputs();
    const reference = shipped(tf.Conv2D, made, SAME_ATTRS);
    tf.dispose(made);
    expectCloseToScale(ours?.data as tf.TypedArray, reference, 'Conv2D vs XNNPACK');
  });

  it('keeps the other geometries on XNNPACK: one input channel, stride 2, 5x5, valid padding, odd channel counts', async () => {
    const cases: { x: Shape4; filter: Shape4; stride: number; pad: 'same' | 'valid' }[] = [
      { x: [32, 28, 28, 1], filter: [3, 3, 1, 32], stride: 1, pad: 'same' },
      { x: [8, 14, 14, 32], filter: [3, 3, 32, 64], stride: 2, pad: 'same' },
      { x: [8, 14, 14, 32], filter: [5, 5, 32, 64], stride: 1, pad: 'same' },
      { x: [8, 14, 14, 32], filter: [3, 3, 32, 64], stride: 1, pad: 'valid' },
      { x: [8, 14, 14, 30], filter: [3, 3, 30, 60], stride: 1, pad: 'same' },
    ];
    for (const { x, filter, stride, pad } of cases) {
      expect(conv3x3NativeFits(tf.backend_util.computeConv2DInfo(x, filter, stride, 1, pad))).toBe(false);
      const made = { x: tf.tensor4d(values(tf.util.sizeFromShape(x), 3), x), filter: tf.tensor4d(values(tf.util.sizeFromShape(filter), 4), filter) };
      const ours = tf.conv2d(made.x, made.filter, stride, pad);
      const attrs = { strides: [stride, stride], pad, dataFormat: 'NHWC', dilations: [1, 1] } as unknown as tf.NamedAttrMap;
      // Not ours: exactly the shipped kernel's output.
      expect(Array.from(ours.dataSync())).toEqual(shipped(tf.Conv2D, made, attrs));
      tf.dispose([made.x, made.filter, ours]);
    }
  });

  it('FusedConv2D: bias and relu in the output transform, within 1e-5 of the shipped kernel; other activations on it', async () => {
    const x: Shape4 = [9, 13, 14, 16];
    const filter: Shape4 = [3, 3, 16, 24];
    for (const activation of ['relu', 'linear', 'elu'] as const) {
      for (const withBias of [true, false]) {
        const make = () => ({
          x: tf.tensor4d(values(tf.util.sizeFromShape(x), 5), x),
          filter: tf.tensor4d(values(tf.util.sizeFromShape(filter), 6), filter),
          bias: tf.tensor1d(values(24, 7)),
        });
        const [ours] = await expectWasmMatchesCpu(() => {
          const m = make();
          return tf.fused.conv2d({ x: m.x, filter: m.filter, strides: 1, pad: 'same', bias: withBias ? m.bias : undefined, activation });
        });
        const m = make();
        const inputs: Record<string, tf.Tensor> = withBias ? { x: m.x, filter: m.filter, bias: m.bias } : { x: m.x, filter: m.filter };
        const reference = shipped(tf.FusedConv2D, inputs, { ...SAME_ATTRS, activation } as unknown as tf.NamedAttrMap);
        tf.dispose(Object.values(m));
        const data = ours?.data as tf.TypedArray;
        if (activation === 'elu') expect(Array.from(data)).toEqual(reference);
        else expectCloseToScale(data, reference, `FusedConv2D ${activation} bias ${withBias}`);
        if (activation === 'relu') expect(Math.min(...data)).toBe(0);
      }
    }
  });

  it('trains through it: the input and filter gradients match cpu and the direct kernels within 1e-5, and free their scratch', async () => {
    const x: Shape4 = [6, 14, 14, 32];
    const filter: Shape4 = [3, 3, 32, 64];
    const make = () => ({
      x: tf.tensor4d(values(tf.util.sizeFromShape(x), 8), x),
      filter: tf.tensor4d(values(tf.util.sizeFromShape(filter), 9).map((v) => v * 0.1), filter),
      weights: tf.tensor4d(values(6 * 14 * 14 * 64, 10), [6, 14, 14, 64]),
    });
    const grads = await expectWasmMatchesCpu(() => {
      const m = make();
      const loss = (input: tf.Tensor4D, kernel: tf.Tensor4D) => tf.sum(tf.mul(tf.relu(tf.conv2d(input, kernel, 1, 'same')), m.weights));
      return tf.grads((input: tf.Tensor, kernel: tf.Tensor) => loss(input as tf.Tensor4D, kernel as tf.Tensor4D))([m.x, m.filter]);
    });
    expect(grads.length).toBe(2);
    const [dx, dw] = grads as unknown as [{ data: tf.TypedArray }, { data: tf.TypedArray }];
    // The direct kernels on the same upstream gradient: XNNPACK's convolution for dx (its shipped
    // Conv2DBackpropInput is a plain loop), the direct native sums for dW.
    const m = make();
    const buffers = heapBuffers();
    const dy = tf.tidy(() => tf.mul(tf.step(tf.conv2d(m.x, m.filter, 1, 'same')), m.weights));
    const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: filter } as unknown as tf.NamedAttrMap;
    const direct = runOnWasm((args) => conv2DBackpropFilterWasm(args, { winograd: false }), { x: m.x, dy }, attrs);
    const winograd = runOnWasm((args) => conv2DBackpropFilterWasm(args), { x: m.x, dy }, attrs);
    expectCloseToScale(winograd.dataSync(), direct.dataSync(), 'Winograd dW vs direct dW');
    expectCloseToScale(dw.data, direct.dataSync(), 'trained dW vs direct dW');
    const flipped = tf.tidy(() => tf.transpose(tf.reverse(m.filter, [0, 1]), [0, 1, 3, 2]));
    const dxDirect = shipped(tf.Conv2D, { x: dy, filter: flipped }, SAME_ATTRS);
    expectCloseToScale(dx.data, dxDirect, 'dx vs XNNPACK');
    tf.dispose([dy, direct, winograd, flipped]);
    expect(heapBuffers()).toBe(buffers);
    tf.dispose(Object.values(m));
  });

  it('is registered for wasm', () => {
    expect(tf.getKernel(tf.Conv2D, 'wasm')?.kernelFunc.toString()).toContain('conv2DWasm');
    expect(tf.getKernel(tf.FusedConv2D, 'wasm')?.kernelFunc.toString()).toContain('fusedConv2DWasm');
  });
});
