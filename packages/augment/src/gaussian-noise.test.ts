import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { FLOAT32_TOLERANCE, expectNoLeak, expectTensorClose, useTestBackend, valueRange } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyGaussianNoise, gaussianNoise } from './gaussian-noise.js';

beforeAll(async () => {
  await useTestBackend();
});

/** float64 reference of RECIPE.md step 3, as a loop. */
function noiseReference(data: number[], perImage: number, noise: boolean[], epsilon: ArrayLike<number>, std: number): number[] {
  return data.map((v, j) => Math.min(1, Math.max(0, noise[Math.floor(j / perImage)] ? v + std * (epsilon[j] as number) : v)));
}

describe('applyGaussianNoise', () => {
  it.each([0.05, 0.3])('adds std * eps where noise is true and always clamps (std %s)', (std) => {
    const shape: [number, number, number, number] = [3, 4, 3, 2];
    const perImage = 4 * 3 * 2;
    const data = Array.from({ length: 3 * perImage }, (_, i) => ((i * 29) % 23) / 20 - 0.05); // some values outside [0, 1]
    const epsilon = Array.from({ length: 3 * perImage }, (_, i) => Math.sin(i * 2.3) * 2);
    const noise = [true, false, true];
    const images = tf.tensor4d(data, shape);
    const out = applyGaussianNoise(images, { noise, epsilon }, { std });
    expect(out.shape).toEqual(shape);
    expect(out.dtype).toBe('float32');
    expectTensorClose(out, noiseReference(data, perImage, noise, epsilon, std), FLOAT32_TOLERANCE);
    tf.dispose([images, out]);
  });

  it('rejects bad params', () => {
    const images = tf.ones([2, 2, 2, 1]) as tf.Tensor4D;
    const epsilon = new Array<number>(8).fill(0);
    expect(() => applyGaussianNoise(images, { noise: [true, false], epsilon: epsilon.slice(1) })).toThrow(
      /'params\.epsilon' passed to 'applyGaussianNoise' must have 8 entries \(n h w c = 2\*2\*2\*1\), got 7/,
    );
    expect(() => applyGaussianNoise(images, { noise: [true, false], epsilon: [0, 0, NaN, 0, 0, 0, 0, 0] })).toThrow(/'params\.epsilon\[2\]' .* must be a finite number, got NaN/);
    expect(() => applyGaussianNoise(images, { noise: [true, false], epsilon }, { std: -1 })).toThrow(/'std' passed to 'applyGaussianNoise' must be a finite number >= 0, got -1/);
    expect(() => applyGaussianNoise(images, { noise: [true], epsilon })).toThrow(/'params\.noise' .* must have 2 entries/);
    images.dispose();
  });
});

describe('gaussianNoise', () => {
  it('draws n coins, then h w c normals per noisy image in index order', () => {
    const rng = new Rng(12);
    const replay = rng.clone();
    const { noise, epsilon } = gaussianNoise({ probability: 0.5 }).sample([6, 2, 3, 1], rng);
    const coins = Array.from({ length: 6 }, () => replay.uniform() < 0.5);
    expect(noise).toEqual(coins);
    const expected = new Float32Array(36);
    coins.forEach((coin, i) => {
      if (coin) for (let j = 0; j < 6; j++) expected[i * 6 + j] = replay.normal();
    });
    expect(Array.from(epsilon)).toEqual(Array.from(expected));
    expect(rng.state()).toEqual(replay.state());
  });

  it('noise statistics: coin rate, eps ~ N(0, 1)', () => {
    const sampled = gaussianNoise({ probability: 0.25 }).sample([4000, 5, 5, 1], new Rng(3));
    const noise = Array.from(sampled.noise);
    const epsilon = sampled.epsilon;
    expect(Math.abs(noise.filter(Boolean).length / 4000 - 0.25)).toBeLessThan(0.025);
    let sum = 0;
    let squares = 0;
    let count = 0;
    noise.forEach((coin, i) => {
      if (!coin) return;
      for (let j = i * 25; j < (i + 1) * 25; j++) {
        sum += epsilon[j] as number;
        squares += (epsilon[j] as number) ** 2;
        count++;
      }
    });
    expect(Math.abs(sum / count)).toBeLessThan(0.02);
    expect(Math.abs(squares / count - 1)).toBeLessThan(0.03);
  });

  it('apply = applyGaussianNoise of sample; in [0, 1]; same seed same output, other seed differs; no leak', async () => {
    const images = tf.randomUniform([8, 6, 6, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const augmentation = gaussianNoise({ probability: 0.5, std: 0.2 });
    await expectNoLeak(() => {
      const expected = applyGaussianNoise(images, augmentation.sample([8, 6, 6, 3], new Rng(6)), { std: 0.2 });
      const got = augmentation.apply(images, new Rng(6));
      const other = augmentation.apply(images, new Rng(7));
      expectTensorClose(got, expected, { atol: 0, rtol: 0 });
      const [low, high] = valueRange(got);
      expect(low).toBeGreaterThanOrEqual(0);
      expect(high).toBeLessThanOrEqual(1);
      expect(() => expectTensorClose(other, got, { atol: 1e-3, rtol: 0 })).toThrow();
      tf.dispose([expected, got, other]);
    });
    images.dispose();
  });

  it('apply reuses its buffers across calls of different sizes without carrying draws over (bit-equal to sample + applyGaussianNoise)', () => {
    const augmentation = gaussianNoise({ probability: 0.5, std: 0.1 });
    for (const [n, seed] of [[16, 1], [5, 2], [16, 3], [9, 4]] as const) {
      const images = tf.randomUniform([n, 7, 7, 2], 0, 1, 'float32', seed) as tf.Tensor4D;
      const expected = applyGaussianNoise(images, augmentation.sample([n, 7, 7, 2], new Rng(seed)), { std: 0.1 });
      const got = augmentation.apply(images, new Rng(seed));
      expectTensorClose(got, expected, { atol: 0, rtol: 0 });
      tf.dispose([images, expected, got]);
    }
  });

  it('rejects bad options', () => {
    expect(() => gaussianNoise({ probability: -0.2 })).toThrow(/'probability' passed to 'gaussianNoise' must be a finite number >= 0 and <= 1, got -0\.2/);
    expect(() => gaussianNoise({ std: Number.NaN })).toThrow(/'std' passed to 'gaussianNoise' must be a finite number >= 0, got NaN/);
    expect(() => gaussianNoise().sample([2, 0, 2, 1], new Rng(0))).toThrow(/'shape\[1\]' passed to 'gaussianNoise\.sample'/);
  });
});
