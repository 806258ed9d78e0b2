import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { convEncoder, layersEncoder, mlpEncoder, projectionHead } from './encoders.js';
import type { Encoder } from './encoders.js';
import { Rng } from './rng.js';
import { expectNoLeak, expectTensorClose, useTestBackend, expectContrastiveError } from './testing/index.js';

beforeAll(async () => {
  await useTestBackend();
});

function weightsOf(encoder: Encoder): Float32Array[] {
  const weights = encoder.getWeights();
  const values = weights.map((weight) => weight.dataSync() as Float32Array);
  tf.dispose(weights);
  return values;
}

function maxAbs(values: Float32Array): number {
  let max = 0;
  for (const value of values) max = Math.max(max, Math.abs(value));
  return max;
}

describe('convEncoder + projectionHead (the reference CNN)', () => {
  it('has the reference parameter count: 420,352 + 24,768 = 445,120', () => {
    const encoder = convEncoder();
    const head = projectionHead();
    expect(encoder.countParams()).toBe(420_352);
    expect(head.countParams()).toBe(24_768);
    expect(encoder.countParams() + head.countParams()).toBe(445_120);
    expect(encoder.model.weights.map((weight) => weight.shape)).toEqual([[3, 3, 1, 32], [32], [3, 3, 32, 64], [64], [3136, 128], [128]]);
    expect(encoder.inputShape).toEqual([28, 28, 1]);
    expect(encoder.outputDim).toBe(128);
    expect(head.outputDim).toBe(64);
    encoder.dispose();
    head.dispose();
  });

  it('draws every weight and bias from U(±1/sqrt(fan_in)) (PyTorch default)', () => {
    const encoder = convEncoder({ seed: 3 });
    const head = projectionHead({ seed: 4 });
    const bounds = [1 / 3, 1 / 3, 1 / Math.sqrt(288), 1 / Math.sqrt(288), 1 / Math.sqrt(3136), 1 / Math.sqrt(3136)];
    const values = [...weightsOf(encoder), ...weightsOf(head)];
    const all = [...bounds, 1 / Math.sqrt(128), 1 / Math.sqrt(128), 1 / Math.sqrt(128), 1 / Math.sqrt(128)];
    values.forEach((tensor, i) => {
      const bound = all[i] as number;
      expect(maxAbs(tensor)).toBeLessThanOrEqual(bound * (1 + 1e-6));
      // Every tensor has >= 32 draws: the largest |w| comes close to the bound.
      expect(maxAbs(tensor)).toBeGreaterThan(bound * 0.8);
    });
    // Roughly uniform: the variance of U(-b, b) is b^2/3 (fc kernel, 401,408 draws).
    const fc = values[4] as Float32Array;
    const variance = fc.reduce((sum, value) => sum + value * value, 0) / fc.length;
    expect(variance).toBeCloseTo((1 / 3136) / 3, 6);
    encoder.dispose();
    head.dispose();
  });

  it("'glorot' draws Glorot-uniform kernels and zero biases", () => {
    const head = projectionHead({ init: 'glorot', seed: 2 });
    const [k1, b1, k2, b2] = weightsOf(head) as [Float32Array, Float32Array, Float32Array, Float32Array];
    expect(maxAbs(k1)).toBeLessThanOrEqual(Math.sqrt(6 / 256) * (1 + 1e-6));
    expect(maxAbs(k1)).toBeGreaterThan(Math.sqrt(6 / 256) * 0.9);
    expect(maxAbs(k2)).toBeLessThanOrEqual(Math.sqrt(6 / 192) * (1 + 1e-6));
    expect(maxAbs(b1)).toBe(0);
    expect(maxAbs(b2)).toBe(0);
    head.dispose();
  });

  it('the same seed gives identical weights; another seed different ones; rng equals seed', () => {
    const a = convEncoder({ seed: 7 });
    const b = convEncoder({ seed: 7 });
    const c = convEncoder({ seed: 8 });
    const d = convEncoder({ rng: new Rng(7) });
    const [wa, wb, wc, wd] = [a, b, c, d].map(weightsOf) as [Float32Array[], Float32Array[], Float32Array[], Float32Array[]];
    wa.forEach((values, i) => {
      expect(Buffer.from(values.buffer).equals(Buffer.from((wb[i] as Float32Array).buffer))).toBe(true);
      expect(Buffer.from(values.buffer).equals(Buffer.from((wd[i] as Float32Array).buffer))).toBe(true);
      expect(Buffer.from(values.buffer).equals(Buffer.from((wc[i] as Float32Array).buffer))).toBe(false);
    });
    for (const encoder of [a, b, c, d]) encoder.dispose();
  });

  it('apply maps [n, 28, 28, 1] and flat [n, 784] to the same [n, 128] post-ReLU features', () => {
    const encoder = convEncoder({ seed: 0 });
    const images = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 5);
    const flat = tf.reshape(images, [3, 784]);
    const fromImages = encoder.apply(images);
    const fromFlat = encoder.apply(flat);
    expect(fromImages.shape).toEqual([3, 128]);
    expect(fromImages.dtype).toBe('float32');
    expectTensorClose(fromFlat, fromImages, { atol: 0, rtol: 0 });
    expect(tf.min(fromImages).dataSync()[0]).toBeGreaterThanOrEqual(0);
    tf.dispose([images, flat, fromImages, fromFlat]);
    encoder.dispose();
  });

  it('matches a plain-JS forward pass of the conv stack on a small input', () => {
    const encoder = convEncoder({ inputShape: [4, 4, 1], filters: [2], denseUnits: 3, seed: 1 });
    const [k, b, w, c] = weightsOf(encoder) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const pixels = Array.from({ length: 16 }, (_, i) => Math.sin(i + 1));
    // conv 3x3 same (zero padding) + ReLU, kernel [kh, kw, in=1, out=2]
    const conv = (y: number, x: number, o: number): number => {
      let sum = b[o] as number;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy < 0 || yy > 3 || xx < 0 || xx > 3) continue;
          sum += (pixels[yy * 4 + xx] as number) * (k[((dy + 1) * 3 + (dx + 1)) * 2 + o] as number);
        }
      }
      return Math.max(0, sum);
    };
    const pooled: number[] = []; // [2, 2, 2] in H, W, C order
    for (let y = 0; y < 2; y++) {
      for (let x = 0; x < 2; x++) {
        for (let o = 0; o < 2; o++) {
          pooled.push(Math.max(conv(2 * y, 2 * x, o), conv(2 * y, 2 * x + 1, o), conv(2 * y + 1, 2 * x, o), conv(2 * y + 1, 2 * x + 1, o)));
        }
      }
    }
    const expected = [0, 1, 2].map((j) => Math.max(0, pooled.reduce((sum, value, i) => sum + value * (w[i * 3 + j] as number), c[j] as number)));
    const x = tf.tensor4d(pixels, [1, 4, 4, 1]);
    const got = encoder.apply(x);
    expectTensorClose(got, [expected]);
    tf.dispose([x, got]);
    encoder.dispose();
  });

  it('validates options with messages naming the argument', () => {
    expectContrastiveError(() => convEncoder({ filters: [32, 0] }), 'INVALID_ARGUMENT', /Argument 'filters\[1\]' passed to 'convEncoder' must be an integer >= 1, got 0/);
    expectContrastiveError(() => convEncoder({ inputShape: [28, 28] }), 'INVALID_ARGUMENT', /'inputShape' passed to 'convEncoder'/);
    expectContrastiveError(() => convEncoder({ inputShape: [4, 4, 1], filters: [2, 2, 2] }), 'INVALID_ARGUMENT', /too many for an input of \[4, 4, 1\]/);
    expectContrastiveError(() => convEncoder({ kernelSize: 2 }), 'INVALID_ARGUMENT', /'kernelSize' passed to 'convEncoder' must be odd/);
    expectContrastiveError(() => projectionHead({ outputDim: 0 }), 'INVALID_ARGUMENT', /Argument 'outputDim' passed to 'projectionHead' must be an integer >= 1, got 0/);
    expectContrastiveError(() => projectionHead({ hiddenLayers: -1 }), 'INVALID_ARGUMENT', /'hiddenLayers'/);
    expectContrastiveError(() => projectionHead({ init: 'xavier' as 'glorot' }), 'INVALID_ARGUMENT', /Argument 'init' passed to 'projectionHead' must be one of "pytorch", "glorot", got "xavier"/);
    expectContrastiveError(() => mlpEncoder({ inputDim: 4, seed: 1, rng: new Rng(1) }), 'INVALID_ARGUMENT', /'seed' and 'rng' passed to 'mlpEncoder' are exclusive/);
    expectContrastiveError(() => mlpEncoder({ inputDim: 4, seed: 0.5 }), 'INVALID_ARGUMENT', /Argument 'seed' passed to 'mlpEncoder' must be an integer/);
    expectContrastiveError(() => mlpEncoder({ inputDim: 4, activation: 'gelu' as 'relu' }), 'INVALID_ARGUMENT', /Argument 'activation' passed to 'mlpEncoder' must be one of/);
    expectContrastiveError(() => mlpEncoder({} as { inputDim: number }), 'INVALID_ARGUMENT', /Argument 'inputDim' passed to 'mlpEncoder' must be an integer >= 1, got undefined/);
  });

  it('apply validates the input shape and dtype', () => {
    const encoder = convEncoder({ inputShape: [8, 8, 1], filters: [2], denseUnits: 4 });
    const wrong = tf.zeros([2, 8, 7, 1]);
    const ints = tf.zeros([2, 64], 'int32');
    const flat3 = tf.zeros([2, 8, 8]);
    expectContrastiveError(() => encoder.apply(wrong), 'SHAPE_MISMATCH', /Argument 'x' passed to 'convEncoder.apply' must have shape \[n, 8, 8, 1\] or \[n, 64\], got \[2, 8, 7, 1\]/);
    expectContrastiveError(() => encoder.apply(flat3), 'SHAPE_MISMATCH', /got \[2, 8, 8\]/);
    expectContrastiveError(() => encoder.apply(ints), 'DTYPE_MISMATCH', /must have dtype float32, got int32/);
    const head = projectionHead({ inputDim: 4 });
    const five = tf.zeros([3, 5]);
    expectContrastiveError(() => head.apply(five), 'SHAPE_MISMATCH', /Argument 'x' passed to 'projectionHead.apply' must have shape \[n, 4\], got \[3, 5\]/);
    tf.dispose([wrong, ints, flat3, five]);
    encoder.dispose();
    head.dispose();
  });
});

describe('mlpEncoder', () => {
  it('flattens any rank and computes relu(relu(x W1 + b1) W2 + b2)', () => {
    const encoder = mlpEncoder({ inputDim: 6, hiddenDims: [5], outputDim: 3, seed: 2 });
    expect(encoder.countParams()).toBe(6 * 5 + 5 + 5 * 3 + 3);
    const [w1, b1, w2, b2] = weightsOf(encoder) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const rows = [
      [0.1, -0.5, 0.3, 0.9, -0.2, 0.4],
      [1.0, 0.2, -0.7, 0.0, 0.5, -0.3],
    ];
    const expected = rows.map((row) => {
      const hidden = [0, 1, 2, 3, 4].map((j) => Math.max(0, row.reduce((s, v, i) => s + v * (w1[i * 5 + j] as number), b1[j] as number)));
      return [0, 1, 2].map((j) => Math.max(0, hidden.reduce((s, v, i) => s + v * (w2[i * 3 + j] as number), b2[j] as number)));
    });
    const x = tf.tensor3d(rows.map((row) => [row.slice(0, 3), row.slice(3)]));
    const got = encoder.apply(x);
    expect(got.shape).toEqual([2, 3]);
    expectTensorClose(got, expected);
    tf.dispose([x, got]);
    encoder.dispose();
  });

  it("outputActivation 'linear' gives a linear last layer; hiddenDims [] a single layer", () => {
    const encoder = mlpEncoder({ inputDim: 3, hiddenDims: [], outputDim: 2, outputActivation: 'linear', seed: 0 });
    expect(encoder.countParams()).toBe(8);
    const x = tf.tensor2d([[-5, -5, -5]]);
    const [w, b] = weightsOf(encoder) as [Float32Array, Float32Array];
    const got = encoder.apply(x);
    expectTensorClose(got, [[0, 1].map((j) => -5 * ((w[j] as number) + (w[2 + j] as number) + (w[4 + j] as number)) + (b[j] as number))]);
    tf.dispose([x, got]);
    encoder.dispose();
  });

  it('gradients reach every trainable variable', () => {
    const encoder = mlpEncoder({ inputDim: 4, hiddenDims: [8], outputDim: 4, seed: 1 });
    const x = tf.randomNormal([5, 4], 0, 1, 'float32', 3);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(encoder.apply(x, { training: true }))) as tf.Scalar, encoder.trainableVariables);
    expect(Object.keys(grads)).toHaveLength(4);
    for (const grad of Object.values(grads)) expect(Number.isFinite(tf.sum(tf.abs(grad)).dataSync()[0])).toBe(true);
    tf.dispose([x, value, ...Object.values(grads)]);
    encoder.dispose();
  });
});

describe('Encoder objects', () => {
  it('leave no tensors behind: build + dispose, apply, getWeights/setWeights', async () => {
    await expectNoLeak(() => {
      const encoder = convEncoder({ inputShape: [8, 8, 1], filters: [4], denseUnits: 8 });
      encoder.dispose();
      encoder.dispose(); // idempotent
    });
    const encoder = mlpEncoder({ inputDim: 10, seed: 0 });
    const x = tf.ones([4, 2, 5]);
    const y = await expectNoLeak(() => encoder.apply(x), 1);
    y.dispose();
    await expectNoLeak(() => {
      const weights = encoder.getWeights();
      encoder.setWeights(weights);
      tf.dispose(weights);
    });
    x.dispose();
    encoder.dispose();
  });

  it('getWeights returns independent copies and setWeights copies values in', () => {
    const a = mlpEncoder({ inputDim: 3, hiddenDims: [4], outputDim: 2, seed: 1 });
    const b = mlpEncoder({ inputDim: 3, hiddenDims: [4], outputDim: 2, seed: 2 });
    const fromA = a.getWeights();
    b.setWeights(fromA);
    tf.dispose(fromA); // b must not depend on the tensors passed in
    const [wa, wb] = [weightsOf(a), weightsOf(b)];
    wa.forEach((values, i) => expect(Array.from(wb[i] as Float32Array)).toEqual(Array.from(values)));
    const x = tf.ones([2, 3]);
    const [ya, yb] = [a.apply(x), b.apply(x)];
    expectTensorClose(yb, ya, { atol: 0, rtol: 0 });
    tf.dispose([x, ya, yb]);
    a.dispose();
    b.dispose();
  });

  it('setWeights rejects a wrong count, shape or dtype naming the weight', () => {
    const encoder = mlpEncoder({ inputDim: 3, hiddenDims: [4], outputDim: 2 });
    const weights = encoder.getWeights();
    expectContrastiveError(() => encoder.setWeights(weights.slice(1)), 'SHAPE_MISMATCH', /must hold 4 tensors .*got 3/);
    const wrong = tf.zeros([4, 3]);
    expectContrastiveError(() => encoder.setWeights([wrong, ...weights.slice(1)]), 'SHAPE_MISMATCH', /Argument 'weights\[0\]' passed to 'mlpEncoder.setWeights' must have shape \[3, 4\]/);
    const ints = tf.zeros([3, 4], 'int32');
    expectContrastiveError(() => encoder.setWeights([ints, ...weights.slice(1)]), 'DTYPE_MISMATCH', /'weights\[0\]'.*float32, got int32/);
    tf.dispose([...weights, wrong, ints]);
    encoder.dispose();
  });

  it('clone copies architecture and weights; the copy is independent and optionally frozen', () => {
    const encoder = convEncoder({ inputShape: [8, 8, 1], filters: [3], denseUnits: 5, seed: 4 });
    const copy = encoder.clone({ trainable: false, name: 'key' });
    expect(copy.name).toBe('key');
    expect(copy.trainableVariables).toHaveLength(0);
    expect(encoder.trainableVariables).toHaveLength(4);
    const x = tf.randomUniform([2, 64], 0, 1, 'float32', 1);
    const [y, yc] = [encoder.apply(x), copy.apply(x)];
    expectTensorClose(yc, y, { atol: 0, rtol: 0 });
    const zeros = encoder.getWeights().map((weight) => tf.zerosLike(weight));
    encoder.setWeights(zeros);
    const yc2 = copy.apply(x);
    expectTensorClose(yc2, y, { atol: 0, rtol: 0 });
    tf.dispose([x, y, yc, yc2, ...zeros]);
    copy.dispose();
    encoder.dispose();
  });

  it('throws STATE after dispose', () => {
    const encoder = projectionHead({ inputDim: 2, hiddenDim: 2, outputDim: 2 });
    encoder.dispose();
    const x = tf.ones([1, 2]);
    expectContrastiveError(() => encoder.apply(x), 'STATE', /'projectionHead.apply' was called after 'projection-head' was disposed/);
    expectContrastiveError(() => encoder.getWeights(), 'STATE', /getWeights/);
    x.dispose();
  });

  it('layersEncoder wraps a user model', () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [4] })] });
    const encoder = layersEncoder(model, { name: 'tiny' });
    expect(encoder.name).toBe('tiny');
    expect(encoder.inputShape).toEqual([4]);
    expect(encoder.outputDim).toBe(3);
    const x = tf.ones([2, 4]);
    const y = encoder.apply(x);
    expect(y.shape).toEqual([2, 3]);
    const copy = encoder.clone();
    const yc = copy.apply(x);
    expectTensorClose(yc, y, { atol: 0, rtol: 0 });
    tf.dispose([x, y, yc]);
    copy.dispose();
    encoder.dispose();
    // A functional model clones too.
    const input = tfl.input({ shape: [6] });
    const output = tfl.layers.dense({ units: 2 }).apply(tfl.layers.dense({ units: 4, activation: 'relu' }).apply(input)) as tfl.SymbolicTensor;
    const functional = layersEncoder(tfl.model({ inputs: input, outputs: output }));
    const functionalCopy = functional.clone({ trainable: false });
    const x6 = tf.randomNormal([3, 6], 0, 1, 'float32', 4);
    const [f1, f2] = [functional.apply(x6), functionalCopy.apply(x6)];
    expectTensorClose(f2, f1, { atol: 0, rtol: 0 });
    expect(functionalCopy.trainableVariables).toHaveLength(0);
    tf.dispose([x6, f1, f2]);
    functionalCopy.dispose();
    functional.dispose();
    const conv = tfl.sequential({ layers: [tfl.layers.conv2d({ filters: 2, kernelSize: 3, inputShape: [5, 5, 1] })] });
    expectContrastiveError(() => layersEncoder(conv), 'INVALID_ARGUMENT', /must output \[n, d\], got \[n, 3, 3, 2\]/);
    conv.dispose();
  });
});
