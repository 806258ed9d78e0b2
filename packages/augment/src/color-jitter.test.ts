import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { FLOAT32_TOLERANCE, expectNoLeak, expectTensorClose, useTestBackend, valueRange } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyColorJitter, colorJitter } from './color-jitter.js';

beforeAll(async () => {
  await useTestBackend();
});

/** float64 reference of RECIPE.md step 2, as loops over images and pixels. */
function jitterReference(data: number[], perImage: number, params: { jitter: boolean[]; brightness: number[]; contrast: number[] }): number[] {
  const out: number[] = [];
  params.jitter.forEach((jitter, i) => {
    const image = data.slice(i * perImage, (i + 1) * perImage);
    if (!jitter) {
      out.push(...image);
      return;
    }
    const bright = image.map((v) => v * (params.brightness[i] as number));
    const mean = bright.reduce((sum, v) => sum + v, 0) / perImage;
    out.push(...bright.map((v) => Math.min(1, Math.max(0, (v - mean) * (params.contrast[i] as number) + mean))));
  });
  return out;
}

describe('applyColorJitter', () => {
  it.each([
    [[2, 5, 5, 1], [true, false]],
    [[3, 4, 6, 3], [true, true, true]],
    [[3, 4, 6, 3], [false, false, false]],
  ] as [[number, number, number, number], boolean[]][])('matches the float64 reference for shape %j, jitter %j', (shape, jitter) => {
    const [n, h, w, c] = shape;
    const data = Array.from({ length: n * h * w * c }, (_, i) => ((i * 37) % 101) / 100);
    const params = { jitter, brightness: [1.3, 0.7, 1.4].slice(0, n), contrast: [0.6, 1.35, 1.2].slice(0, n) };
    const images = tf.tensor4d(data, shape);
    const out = applyColorJitter(images, params);
    expect(out.shape).toEqual(shape);
    expect(out.dtype).toBe('float32');
    expectTensorClose(out, jitterReference(data, h * w * c, params), FLOAT32_TOLERANCE);
    tf.dispose([images, out]);
  });

  it('returns images without jitter exactly (inputs in [0, 1]); values outside [0, 1] are clamped', () => {
    const data = Array.from({ length: 2 * 5 * 5 }, (_, i) => ((i * 37) % 101) / 100);
    const images = tf.tensor4d(data, [2, 5, 5, 1]);
    const out = applyColorJitter(images, { jitter: [false, true], brightness: [2, 2], contrast: [0.5, 0.5] });
    const first = tf.slice(out, [0, 0, 0, 0], [1, -1, -1, -1]);
    expectTensorClose(first, Float32Array.from(data.slice(0, 25)), { atol: 0, rtol: 0 });
    const outside = tf.tensor4d([-0.5, 1.5, 0.25, 0.75], [2, 1, 2, 1]);
    const clamped = applyColorJitter(outside, { jitter: [false, true], brightness: [1, 2], contrast: [1, 1] });
    expectTensorClose(clamped, [0, 1, 0.5, 1], { atol: 1e-7, rtol: 0 });
    tf.dispose([images, out, first, outside, clamped]);
  });

  it('rejects bad params', () => {
    const images = tf.ones([2, 3, 3, 1]) as tf.Tensor4D;
    const params = { jitter: [true, true], brightness: [1, 1], contrast: [1, 1] };
    expect(() => applyColorJitter(images, { ...params, brightness: [1] })).toThrow(/'params\.brightness' passed to 'applyColorJitter' must have 2 entries/);
    expect(() => applyColorJitter(images, { ...params, contrast: [1, -2] })).toThrow(/'params\.contrast\[1\]' .* must be a finite number >= 0, got -2/);
    expect(() => applyColorJitter(images, { ...params, jitter: [true, 'yes' as unknown as boolean] })).toThrow(/'params\.jitter\[1\]' .* must be a boolean, got "yes"/);
    images.dispose();
  });
});

describe('colorJitter', () => {
  it('draws coin, brightness, contrast per image, in that order', () => {
    const rng = new Rng(5);
    const replay = rng.clone();
    const sampled = colorJitter({ probability: 0.8, brightness: [0.6, 1.4], contrast: [0.5, 2] }).sample(4, rng);
    for (let i = 0; i < 4; i++) {
      expect(sampled.jitter[i]).toBe(replay.uniform() < 0.8);
      expect(sampled.brightness[i]).toBe(replay.uniform(0.6, 1.4));
      expect(sampled.contrast[i]).toBe(replay.uniform(0.5, 2));
    }
    expect(rng.state()).toEqual(replay.state());
  });

  it('parameter statistics follow the options', () => {
    const sampled = colorJitter().sample(20000, new Rng(1));
    const [jitter, brightness, contrast] = [Array.from(sampled.jitter), Array.from(sampled.brightness), Array.from(sampled.contrast)];
    const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;
    expect(Math.abs(jitter.filter(Boolean).length / 20000 - 0.8)).toBeLessThan(0.015);
    expect(Math.abs(mean(brightness) - 1)).toBeLessThan(0.01);
    expect(Math.abs(mean(contrast) - 1)).toBeLessThan(0.01);
    expect(brightness.reduce((low, v) => Math.min(low, v), Infinity)).toBeGreaterThanOrEqual(0.6);
    expect(contrast.reduce((high, v) => Math.max(high, v), -Infinity)).toBeLessThan(1.4);
  });

  it('apply = applyColorJitter of sample; output in [0, 1]; same seed same output; no leak', async () => {
    const images = tf.randomUniform([16, 8, 8, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
    const augmentation = colorJitter({ probability: 1, brightness: [0.2, 3], contrast: [0, 3] });
    await expectNoLeak(() => {
      const expected = applyColorJitter(images, augmentation.sample(16, new Rng(8)));
      const got = augmentation.apply(images, new Rng(8));
      expectTensorClose(got, expected, { atol: 0, rtol: 0 });
      const [low, high] = valueRange(got);
      expect(low).toBeGreaterThanOrEqual(0);
      expect(high).toBeLessThanOrEqual(1);
      tf.dispose([expected, got]);
    });
    images.dispose();
  });

  it('rejects bad options', () => {
    expect(() => colorJitter({ probability: -1 })).toThrow(/'probability' passed to 'colorJitter' must be a finite number >= 0 and <= 1, got -1/);
    expect(() => colorJitter({ brightness: [-0.1, 1] })).toThrow(/'brightness\[0\]' passed to 'colorJitter' must be a finite number >= 0, got -0\.1/);
    expect(() => colorJitter({ contrast: [1.4, 0.6] })).toThrow(/'contrast' passed to 'colorJitter' must have low <= high/);
    expect(() => colorJitter({ contrast: 0.4 as unknown as [number, number] })).toThrow(/'contrast' .* must be a pair \[low, high\], got 0\.4/);
  });
});
