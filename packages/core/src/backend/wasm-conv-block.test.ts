import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { convEncoder } from '../encoders.js';
import { expectContrastiveError } from '../testing/index.js';
import { POOL_BIAS_GRAD_KERNEL, POOL_RELU_GRAD_KERNEL, convReluPool, convReluPoolFits } from './wasm-conv-block.js';
import { expectWasmMatchesCpu, useWasmWithCpuReference, values } from './wasm-parity.test.helpers.js';

beforeAll(async () => {
  await useWasmWithCpuReference();
});

type Shape4 = [number, number, number, number];

/** Values on a grid of 1/8 in [-1, 1] (filters scaled by 1/4): every sum is exact, so both paths agree bit for bit and pick the same maxima. */
function grid(shape: readonly number[], seed: number, scale = 1): tf.Tensor {
  return tf.tensor(values(tf.util.sizeFromShape([...shape]), seed, 8).map((v) => v * scale), [...shape]);
}

/** The layer-by-layer stage the fused kernel replaces. */
function layered(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  return tf.maxPool(tf.relu(tf.add(tf.conv2d(x, filter, 1, 'same'), bias)) as tf.Tensor4D, 2, 2, 'valid');
}

/** The stage's output and its gradients w.r.t. x, filter and bias, under a fixed weighting of the output. */
function stageWithGrads(stage: typeof layered, x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, weights: tf.Tensor): tf.Tensor[] {
  const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(stage(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor1D), weights));
  return [stage(x, filter, bias), ...tf.grads(f)([x, filter, bias])];
}

function fused(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  const out = convReluPool(x, filter, bias);
  if (out === null) throw new Error('the fused block did not take these shapes');
  return out;
}

// Direct sums (1 and 3 input channels, odd sizes: a row and a column outside every window) and
// Winograd (32 and 64 input channels).
const CASES: { x: Shape4; filter: Shape4 }[] = [
  { x: [6, 28, 28, 1], filter: [3, 3, 1, 32] },
  { x: [5, 15, 13, 3], filter: [3, 3, 3, 16] },
  { x: [8, 14, 14, 32], filter: [3, 3, 32, 64] },
  { x: [16, 9, 8, 64], filter: [3, 3, 64, 8] },
];

describe('the fused conv3x3 -> bias -> ReLU -> max-pool stage on wasm', () => {
  it.each(CASES)('x $x, filter $filter: output and the three gradients equal the layer-by-layer stage, and match cpu', async ({ x, filter }) => {
    const outShape = [x[0], Math.floor(x[1] / 2), Math.floor(x[2] / 2), filter[3]];
    const make = () => ({
      x: grid(x, 1) as tf.Tensor4D,
      filter: grid(filter, 2, 0.25) as tf.Tensor4D,
      bias: grid([filter[3]], 3) as tf.Tensor1D,
      weights: grid(outShape, 4),
    });
    const made = make();
    expect(convReluPoolFits(made.x, made.filter, made.bias)).toBe(true);
    tf.dispose(Object.values(made));
    const ours = await expectWasmMatchesCpu(() => {
      const m = make();
      return tf.getBackend() === 'wasm' ? stageWithGrads(fused, m.x, m.filter, m.bias, m.weights) : stageWithGrads(layered, m.x, m.filter, m.bias, m.weights);
    });
    const reference = tf.tidy(() => {
      const m = make();
      return stageWithGrads(layered, m.x, m.filter, m.bias, m.weights).map((t) => Array.from(t.dataSync()));
    });
    expect(ours.map((t) => Array.from(t.data))).toEqual(reference);
    // Some outputs are clipped to 0 by the ReLU and some pass: both branches are exercised.
    const out = ours[0]?.data as Float32Array;
    expect(out.some((v) => v === 0)).toBe(true);
    expect(out.some((v) => v > 0)).toBe(true);
  });

  it('ties inside a window go to the first maximum (row-major), as tfjs maxPool; all-negative windows pass no gradient', async () => {
    const x = tf.tensor4d([...Array(4 * 4).fill(1), ...Array(4 * 4).fill(-1)], [2, 4, 4, 1]); // constant images
    const filter = tf.ones([3, 3, 1, 8]) as tf.Tensor4D;
    const bias = tf.zeros([8]) as tf.Tensor1D;
    const weights = tf.ones([2, 2, 2, 8]);
    const ours = tf.tidy(() => stageWithGrads(fused, x, filter, bias, weights).map((t) => Array.from(t.dataSync())));
    const reference = tf.tidy(() => stageWithGrads(layered, x, filter, bias, weights).map((t) => Array.from(t.dataSync())));
    expect(ours).toEqual(reference);
    // The second image is all negative: zero output and zero gradient for its pixels.
    expect((ours[0] as number[]).slice(32)).toEqual(Array(32).fill(0));
    expect((ours[1] as number[]).slice(16)).toEqual(Array(16).fill(0));
    tf.dispose([x, filter, bias, weights]);
  });

  it('leaves no tensor and no heap buffer behind, forward or through a gradient', () => {
    const x = grid([4, 14, 14, 32], 5) as tf.Tensor4D;
    const filter = grid([3, 3, 32, 64], 6, 0.25) as tf.Tensor4D;
    const bias = grid([64], 7) as tf.Tensor1D;
    const tensors = tf.memory().numTensors;
    const buffers = tf.backend().numDataIds();
    fused(x, filter, bias).dispose();
    tf.dispose(tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(fused(a as tf.Tensor4D, b as tf.Tensor4D, bias)))([x, filter]));
    tf.dispose(tf.grad((b: tf.Tensor) => tf.sum(fused(x, filter, b as tf.Tensor1D)))(bias));
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.backend().numDataIds()).toBe(buffers);
    tf.dispose([x, filter, bias]);
  });

  it('declines what it does not fit (the caller runs the layers): 5x5 filters, output channels not a multiple of 8, 1-pixel images, the cpu backend', async () => {
    const x = tf.zeros([2, 8, 8, 4]) as tf.Tensor4D;
    expect(convReluPool(x, tf.zeros([5, 5, 4, 8]) as tf.Tensor4D, tf.zeros([8]) as tf.Tensor1D)).toBeNull();
    expect(convReluPool(x, tf.zeros([3, 3, 4, 12]) as tf.Tensor4D, tf.zeros([12]) as tf.Tensor1D)).toBeNull();
    expect(convReluPool(tf.zeros([2, 1, 8, 4]) as tf.Tensor4D, tf.zeros([3, 3, 4, 8]) as tf.Tensor4D, tf.zeros([8]) as tf.Tensor1D)).toBeNull();
    await tf.setBackend('cpu');
    try {
      expect(convReluPool(tf.zeros([2, 8, 8, 4]) as tf.Tensor4D, tf.zeros([3, 3, 4, 8]) as tf.Tensor4D, tf.zeros([8]) as tf.Tensor1D)).toBeNull();
    } finally {
      await tf.setBackend('wasm');
    }
  });

  it("refuses to take a gradient from a copy of the stage's output (it would have lost the pooling positions)", () => {
    const x = grid([2, 8, 8, 4], 8) as tf.Tensor4D;
    const y = fused(x, grid([3, 3, 4, 8], 9) as tf.Tensor4D, grid([8], 10) as tf.Tensor1D);
    const copy = tf.add(y, 0);
    expect(() => tf.engine().runKernel(POOL_RELU_GRAD_KERNEL, { dy: tf.onesLike(y), y: copy }, { height: 8, width: 8 })).toThrow(/pooling positions/);
    expect(() => tf.engine().runKernel(POOL_BIAS_GRAD_KERNEL, { dy: tf.onesLike(y), y: copy }, {})).toThrow(/pooling positions/);
    tf.dispose([x, y, copy]);
  });
});

describe('convEncoder on wasm runs its stages fused', () => {
  it('the same features and weight gradients as fused: false (the tfjs-layers model), and its clones keep the fused path', () => {
    const shape = [16, 14, 3];
    const a = convEncoder({ inputShape: shape, filters: [16, 32], seed: 0 });
    const b = convEncoder({ inputShape: shape, filters: [16, 32], seed: 0, fused: false });
    // Weights on the 1/8 grid (scaled), so both paths sum exactly and pick the same maxima.
    const weights = a.getWeights().map((w, i) => tf.tidy(() => tf.mul(grid(w.shape, 20 + i), 1 / 16)));
    a.setWeights(weights);
    b.setWeights(weights);
    const x = grid([12, ...shape], 30);
    const target = grid([12, 128], 31);
    const run = (encoder: typeof a) =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(encoder.apply(x, { training: true }), target)) as tf.Scalar, encoder.trainableVariables);
        return [value, ...encoder.trainableVariables.map((v) => grads[v.name] as tf.Tensor)].map((t) => Array.from(t.dataSync()));
      });
    const fusedRun = run(a);
    expect(fusedRun).toEqual(run(b));
    expect((fusedRun[0] as number[])[0]).not.toBe(0);
    const copy = a.clone();
    expect(tf.tidy(() => Array.from(copy.apply(x).dataSync()))).toEqual(tf.tidy(() => Array.from(b.apply(x).dataSync())));
    tf.dispose([x, target, ...weights]);
    a.dispose();
    b.dispose();
    copy.dispose();
  });

  it('actually dispatches the fused kernel, not Conv2D', async () => {
    const encoder = convEncoder({ inputShape: [8, 8, 1], filters: [8, 8], denseUnits: 4, seed: 1 });
    const x = tf.ones([2, 8, 8, 1]);
    const info = await tf.profile(() => encoder.apply(x));
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain('ContrastiveConvReluPool');
    expect(names).not.toContain('Conv2D');
    tf.dispose([x, info.result as tf.Tensor]);
    encoder.dispose();
  });

  it("rejects a non-boolean 'fused'", () => {
    expectContrastiveError(() => convEncoder({ fused: 1 as unknown as boolean }), 'INVALID_ARGUMENT', /'fused'/);
  });
});
