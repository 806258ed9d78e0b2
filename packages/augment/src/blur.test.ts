import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { FLOAT32_TOLERANCE, expectContrastiveError, expectNoLeak, expectTensorClose, valueRange } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyGaussianBlur, gaussianBlur, gaussianKernel1d } from './blur.js';
import { expectBitIdentical, onCpuAndWasm, useCpuAndWasm } from './test-support/backends.js';
import { type Shape, pixels } from './test-support/images.js';

const EXACT = { atol: 0, rtol: 0 };

beforeAll(useCpuAndWasm);

/** torchvision's 1-D kernel in float64, from its definition. */
function kernel64(size: number, sigma: number): number[] {
  const half = (size - 1) / 2;
  const density = Array.from({ length: size }, (_, t) => Math.exp(-0.5 * ((t - half) / sigma) ** 2));
  const total = density.reduce((a, b) => a + b, 0);
  return density.map((value) => value / total);
}

/** PyTorch's 'reflect' padding index (no edge repeat). */
function reflect(index: number, size: number): number {
  if (index < 0) return -index;
  if (index >= size) return 2 * (size - 1) - index;
  return index;
}

/** float64 reference: torchvision's gaussian_blur — a 2-D kernel (outer product) over reflect-padded images, obvious loops. */
function blurReference(data: number[], [n, h, w, c]: Shape, blur: boolean[], sigma: number[], size: number): number[] {
  const out = [...data];
  const radius = (size - 1) / 2;
  for (let i = 0; i < n; i++) {
    if (!blur[i]) continue;
    const k = kernel64(size, sigma[i] as number);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let channel = 0; channel < c; channel++) {
          let sum = 0;
          for (let dy = 0; dy < size; dy++)
            for (let dx = 0; dx < size; dx++) {
              const sy = reflect(y + dy - radius, h);
              const sx = reflect(x + dx - radius, w);
              sum += (k[dy] as number) * (k[dx] as number) * (data[((i * h + sy) * w + sx) * c + channel] as number);
            }
          out[((i * h + y) * w + x) * c + channel] = sum;
        }
  }
  return out.map((value) => Math.min(1, Math.max(0, value)));
}

describe('gaussianKernel1d', () => {
  it('is the normalized Gaussian (hand-computed for k = 3, sigma = 1)', () => {
    // p = [e^-0.5, 1, e^-0.5] = [0.60653066, 1, 0.60653066], sum 2.21306132
    expectTensorClose(tf.tensor1d(gaussianKernel1d(3, 1)), [0.27406862, 0.45186276, 0.27406862], { atol: 1e-8, rtol: 0 });
    const wide = gaussianKernel1d(7, 2);
    expect(wide.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expectTensorClose(tf.tensor1d(wide), kernel64(7, 2), { atol: 1e-8, rtol: 1e-7 });
    expect(Array.from(gaussianKernel1d(1, 0.5))).toEqual([1]);
  });

  it('rejects an even or non-positive size and a sigma that is not > 0', () => {
    expectContrastiveError(() => gaussianKernel1d(4, 1), 'INVALID_ARGUMENT', /'kernelSize' passed to 'gaussianKernel1d' must be an odd integer, got 4/);
    expectContrastiveError(() => gaussianKernel1d(0, 1), 'INVALID_ARGUMENT', /'kernelSize' .* must be an integer >= 1, got 0/);
    expectContrastiveError(() => gaussianKernel1d(3, 0), 'INVALID_ARGUMENT', /'sigma' passed to 'gaussianKernel1d' must be a finite number > 0, got 0/);
  });
});

describe('applyGaussianBlur', () => {
  it('blurs a delta image into the 2-D kernel (5x5 image, 3x3 kernel, sigma 1)', () => {
    const delta = new Array<number>(25).fill(0);
    delta[12] = 1;
    const x = tf.tensor4d(delta, [1, 5, 5, 1]);
    const out = applyGaussianBlur(x, { blur: [true], sigma: [1] }, { kernelSize: 3 });
    const k = [0.27406862, 0.45186276, 0.27406862];
    const expected = new Array<number>(25).fill(0);
    for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) expected[(dy + 1) * 5 + dx + 1] = (k[dy] as number) * (k[dx] as number);
    expectTensorClose(out, expected, { atol: 1e-7, rtol: 0 });
    tf.dispose([x, out]);
  });

  it('pads by reflection without repeating the edge (3x3 delta: the corners get 2 k0 twice)', () => {
    const x = tf.tensor4d([0, 0, 0, 0, 1, 0, 0, 0, 0], [1, 3, 3, 1]);
    const out = applyGaussianBlur(x, { blur: [true], sigma: [1] }, { kernelSize: 3 });
    const [k0, k1] = [0.27406862, 0.45186276];
    const profile = [2 * k0, k1, 2 * k0];
    expectTensorClose(out, profile.flatMap((a) => profile.map((b) => a * b)), { atol: 1e-7, rtol: 0 });
    tf.dispose([x, out]);
  });

  it.each([
    [[3, 6, 7, 1], [true, false, true], [0.5, 1, 2], 3],
    [[2, 8, 8, 3], [true, true], [0.1, 1.3], 5],
    [[2, 5, 4, 4], [false, true], [1, 0.7], 3],
    [[1, 9, 9, 2], [true], [3], 7],
    [[2, 3, 3, 1], [true, true], [2, 0.4], 5],
  ] as [Shape, boolean[], number[], number][])('matches the float64 reference for shape %j, blur %j, sigma %j, kernel %d', (shape, blur, sigma, kernelSize) => {
    const data = pixels(shape.reduce((a, b) => a * b), 31);
    const x = tf.tensor4d(data, shape);
    const out = applyGaussianBlur(x, { blur, sigma }, { kernelSize });
    expect(out.shape).toEqual(shape);
    expect(out.dtype).toBe('float32');
    expectTensorClose(out, blurReference(data, shape, blur, sigma, kernelSize), FLOAT32_TOLERANCE);
    tf.dispose([x, out]);
  });

  it("uses SimCLR's kernel size by default: 10% of the shorter side made odd (1 below 20 px, 3 at 20 px, 5 at 40 px)", () => {
    for (const [size, kernelSize] of [
      [19, 1],
      [20, 3],
      [40, 5],
    ] as const) {
      const shape: Shape = [1, size, size + 3, 1];
      const data = pixels(size * (size + 3), size);
      const x = tf.tensor4d(data, shape);
      const out = applyGaussianBlur(x, { blur: [true], sigma: [1.5] });
      expectTensorClose(out, blurReference(data, shape, [true], [1.5], kernelSize), FLOAT32_TOLERANCE);
      tf.dispose([x, out]);
    }
  });

  it('copies images that are not blurred exactly; clamps every image to [0, 1]', () => {
    const data = pixels(2 * 4 * 4 * 3, 3);
    const x = tf.tensor4d(data, [2, 4, 4, 3]);
    const out = applyGaussianBlur(x, { blur: [true, false], sigma: [1, 1] }, { kernelSize: 3 });
    const second = tf.slice(out, [1, 0, 0, 0], [1, -1, -1, -1]);
    expectTensorClose(second, Float32Array.from(data.slice(48)), EXACT);
    const ones = tf.ones([2, 6, 6, 1]) as tf.Tensor4D;
    const blurredOnes = applyGaussianBlur(ones, { blur: [true, true], sigma: [0.3, 1.9] }, { kernelSize: 5 });
    const [low, high] = valueRange(blurredOnes);
    expect(high).toBeLessThanOrEqual(1);
    expect(low).toBeGreaterThan(1 - 1e-6);
    const outside = tf.tensor4d([-0.5, 1.5, 0.5, 0.5], [1, 2, 2, 1]);
    const clamped = applyGaussianBlur(outside, { blur: [false], sigma: [1] }, { kernelSize: 3 });
    expectTensorClose(clamped, [0, 1, 0.5, 0.5], EXACT);
    tf.dispose([x, out, second, ones, blurredOnes, outside, clamped]);
  });

  it('is bit-identical on cpu and wasm (c = 1, 3, 4)', async () => {
    for (const shape of [
      [4, 9, 8, 1],
      [3, 7, 7, 3],
      [2, 6, 5, 4],
    ] as Shape[]) {
      const data = pixels(shape.reduce((a, b) => a * b), shape[3]);
      const blur = Array.from({ length: shape[0] }, (_, i) => i !== 1);
      const sigma = Array.from({ length: shape[0] }, (_, i) => 0.3 + 0.6 * i);
      expectBitIdentical(await onCpuAndWasm(() => tf.tidy(() => applyGaussianBlur(tf.tensor4d(data, shape), { blur, sigma }, { kernelSize: 5 }))));
    }
  });

  it('rejects bad params and a kernel larger than reflect padding allows', () => {
    const x = tf.ones([2, 3, 3, 1]) as tf.Tensor4D;
    expectContrastiveError(() => applyGaussianBlur(x, { blur: [true, true], sigma: [1, 0] }), 'INVALID_ARGUMENT', /'params\.sigma\[1\]' passed to 'applyGaussianBlur' must be a finite number > 0, got 0/);
    expectContrastiveError(() => applyGaussianBlur(x, { blur: [true], sigma: [1, 1] }), 'SHAPE_MISMATCH', /'params\.blur' .* must have 2 entries/);
    expectContrastiveError(() => applyGaussianBlur(x, { blur: [true, true], sigma: [1, 1] }, { kernelSize: 7 }), 'INVALID_ARGUMENT', /'kernelSize' passed to 'applyGaussianBlur' must be at most 2 min\(h, w\) - 1 = 5 .* got 7/);
    expectContrastiveError(() => applyGaussianBlur(x, { blur: [true, true], sigma: [1, 1] }, { kernelSize: 2 }), 'INVALID_ARGUMENT', /must be an odd integer, got 2/);
    expectContrastiveError(() => applyGaussianBlur(x, { sigma: [1, 1] } as never), 'INVALID_ARGUMENT', /'params\.blur' .* must be an array of 2 booleans, got undefined/);
    x.dispose();
  });
});

describe('gaussianBlur', () => {
  it('draws coin then sigma per image, in that order', () => {
    const rng = new Rng(4);
    const replay = rng.clone();
    const sampled = gaussianBlur({ sigma: [0.5, 1.5], probability: 0.6 }).sample(5, rng);
    for (let i = 0; i < 5; i++) {
      expect(sampled.blur[i]).toBe(replay.uniform() < 0.6);
      expect(sampled.sigma[i]).toBe(replay.uniform(0.5, 1.5));
    }
    expect(rng.state()).toEqual(replay.state());
    const many = gaussianBlur().sample(10000, new Rng(1));
    expect(Array.from(many.blur).every(Boolean)).toBe(true);
    const sigma = Array.from(many.sigma);
    expect(Math.abs(sigma.reduce((a, b) => a + b, 0) / 10000 - 1.05)).toBeLessThan(0.02);
    expect(Math.min(...sigma)).toBeGreaterThanOrEqual(0.1);
    expect(Math.max(...sigma)).toBeLessThan(2);
  });

  it('apply = applyGaussianBlur of sample; same seed same output; other seeds differ; bit-identical on cpu and wasm; no leak', async () => {
    const shape: Shape = [8, 10, 10, 3];
    const data = pixels(8 * 10 * 10 * 3, 8);
    const augmentation = gaussianBlur({ probability: 0.5, kernelSize: 3 });
    const images = tf.tensor4d(data, shape);
    await expectNoLeak(() => {
      const expected = applyGaussianBlur(images, augmentation.sample(8, new Rng(6)), { kernelSize: 3 });
      const got = augmentation.apply(images, new Rng(6));
      const other = augmentation.apply(images, new Rng(7));
      expectTensorClose(got, expected, EXACT);
      expect(Array.from(other.dataSync())).not.toEqual(Array.from(got.dataSync()));
      tf.dispose([expected, got, other]);
    });
    images.dispose();
    expectBitIdentical(await onCpuAndWasm(() => tf.tidy(() => augmentation.apply(tf.tensor4d(data, shape), new Rng(6)))));
  });

  it('handles n = 1 and a 1x1 image (kernel 1: a copy)', () => {
    const x = tf.tensor4d([0.25, 0.5, 0.75], [1, 1, 1, 3]);
    const out = gaussianBlur().apply(x, new Rng(0));
    expectTensorClose(out, x, EXACT);
    tf.dispose([x, out]);
  });

  it('rejects bad options', () => {
    expectContrastiveError(() => gaussianBlur({ kernelSize: 4 }), 'INVALID_ARGUMENT', /'kernelSize' passed to 'gaussianBlur' must be an odd integer, got 4/);
    expectContrastiveError(() => gaussianBlur({ sigma: [0, 1] }), 'INVALID_ARGUMENT', /'sigma\[0\]' passed to 'gaussianBlur' must be a finite number > 0, got 0/);
    expectContrastiveError(() => gaussianBlur({ sigma: [2, 1] }), 'INVALID_ARGUMENT', /'sigma' passed to 'gaussianBlur' must have low <= high/);
    expectContrastiveError(() => gaussianBlur({ probability: 1.1 }), 'INVALID_ARGUMENT', /'probability' passed to 'gaussianBlur' .* got 1\.1/);
    expectContrastiveError(() => gaussianBlur([] as never), 'INVALID_ARGUMENT', /'options' passed to 'gaussianBlur' must be an object/);
    const small = tf.ones([1, 2, 2, 1]) as tf.Tensor4D;
    const rng = new Rng(0);
    const before = rng.state();
    expectContrastiveError(() => gaussianBlur({ kernelSize: 5 }).apply(small, rng), 'INVALID_ARGUMENT', /'kernelSize' passed to 'gaussianBlur\.apply' must be at most 2 min\(h, w\) - 1 = 3/);
    expect(rng.state()).toEqual(before);
    small.dispose();
  });
});
