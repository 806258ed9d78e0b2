import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { conv2DBackpropFilterWasm } from './wasm-conv2d-backprop-filter.js';
import { expectWasmMatchesCpu, runOnWasm, useWasmWithCpuReference, values } from './wasm-parity.test.helpers.js';

beforeAll(async () => {
  await useWasmWithCpuReference();
});

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

const CASES: { x: [number, number, number, number]; filter: [number, number, number, number]; stride: number | [number, number]; pad: Pad }[] = [
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { x: [2, 9, 7, 3], filter: [3, 3, 3, 5], stride: 1, pad: 'valid' },
  { x: [3, 9, 8, 2], filter: [3, 2, 2, 4], stride: 2, pad: 'same' },
  { x: [2, 11, 9, 3], filter: [3, 3, 3, 2], stride: [2, 3], pad: 'valid' },
  { x: [2, 7, 6, 2], filter: [3, 3, 2, 3], stride: 1, pad: [[0, 0], [2, 1], [0, 1], [0, 0]] },
  { x: [2, 8, 8, 1], filter: [3, 3, 1, 16], stride: 1, pad: 'same' }, // few input channels: patches as right operand
  { x: [2, 7, 7, 1], filter: [5, 5, 1, 8], stride: 2, pad: 'valid' },
  { x: [1, 6, 6, 4], filter: [1, 1, 4, 3], stride: 1, pad: 'same' },
];

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

describe('Conv2DBackpropFilter on wasm', () => {
  it.each(CASES)('filter gradient of conv2d($x, $filter, stride $stride, $pad) matches cpu', async ({ x, filter, stride, pad }) => {
    await expectWasmMatchesCpu(() => {
      const input = tf.tensor4d(values(size(x), 1), x);
      const output = tf.conv2d(input, tf.zeros(filter), stride, pad);
      const weights = tf.tensor(values(size(output.shape), 2), output.shape);
      return tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(input, w as tf.Tensor4D, stride, pad), weights)))(tf.tensor(values(size(filter), 3), filter));
    });
  });

  it.each([
    { blockElements: 1, x: [5, 6, 6, 3] as const, filter: [3, 3, 3, 4] as const },
    { blockElements: 200, x: [5, 6, 6, 1] as const, filter: [3, 3, 1, 16] as const },
  ])('sums blocks of images (blockElements $blockElements) like one pass', async ({ blockElements, x, filter }) => {
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [...filter] } as unknown as tf.NamedAttrMap;
    const dyShape = [x[0], x[1], x[2], filter[3]];
    const run = (blocked: boolean): tf.Tensor =>
      tf.tidy(() => {
        const inputs = { x: tf.tensor(values(size(x), 4), [...x]), dy: tf.tensor(values(size(dyShape), 5), dyShape) };
        return blocked
          ? runOnWasm((args) => conv2DBackpropFilterWasm(args, { blockElements, native: false }), inputs, attrs)
          : tf.engine().runKernel(tf.Conv2DBackpropFilter, inputs, attrs) as tf.Tensor;
      });
    await expectWasmMatchesCpu(() => run(tf.getBackend() === 'wasm'));
  });

  // The native kernel (register tiles of 4 x 8 and 1 x 32 channels, scalar remainders) against the
  // im2col + XNNPACK path it replaces: within 1e-5 of the largest |dW|.
  it.each([
    { x: [3, 9, 8, 5], filter: [3, 3, 5, 9], stride: 1, pad: 'same' },
    { x: [2, 10, 9, 6], filter: [3, 2, 6, 40], stride: [2, 1], pad: 'valid' },
    { x: [2, 8, 8, 1], filter: [3, 3, 1, 36], stride: 1, pad: 'same' },
    { x: [2, 9, 9, 3], filter: [5, 5, 3, 7], stride: 2, pad: [[0, 0], [2, 1], [0, 2], [0, 0]] },
    { x: [4, 14, 14, 32], filter: [3, 3, 32, 64], stride: 1, pad: 'same' },
    { x: [1, 3, 3, 4], filter: [5, 5, 4, 8], stride: 1, pad: 'same' }, // filter larger than the image
  ] as { x: number[]; filter: number[]; stride: number | [number, number]; pad: Pad }[])(
    'the native kernel equals the im2col path within 1e-5: x $x, filter $filter, stride $stride, $pad',
    ({ x, filter, stride, pad }) => {
      const info = tf.backend_util.computeConv2DInfo(x as [number, number, number, number], filter as [number, number, number, number], stride, 1, pad as 'same');
      const dyShape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
      const attrs = { strides: stride, pad, dataFormat: 'NHWC', filterShape: filter } as unknown as tf.NamedAttrMap;
      const inputs = { x: tf.tensor(values(size(x), 8), x), dy: tf.tensor(values(size(dyShape), 9), dyShape) };
      const native = runOnWasm((args) => conv2DBackpropFilterWasm(args), inputs, attrs);
      const im2col = runOnWasm((args) => conv2DBackpropFilterWasm(args, { native: false }), inputs, attrs);
      const a = native.dataSync();
      const b = im2col.dataSync();
      const scale = Math.max(...Array.from(b, Math.abs));
      let worst = 0;
      for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
      expect(native.shape).toEqual(filter);
      expect(worst / scale).toBeLessThan(1e-5);
      tf.dispose([native, im2col, inputs.x, inputs.dy]);
    },
  );

  it('handles NCHW through a transpose', async () => {
    await expectWasmMatchesCpu(() => {
      const x = tf.tensor(values(2 * 3 * 7 * 6, 6), [2, 3, 7, 6]);
      const dy = tf.tensor(values(2 * 4 * 7 * 6, 7), [2, 4, 7, 6]);
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] } as unknown as tf.NamedAttrMap;
      return tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs) as tf.Tensor;
    });
  });
});
