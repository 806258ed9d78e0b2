import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, expectTensorClose, valueRange } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ErasingParams, applyErasing, cutout, randomErasing } from './photometric-erasing.js';
import { expectBitIdentical, onCpuAndWasm, useCpuAndWasm } from './test-support/backends.js';
import { type Shape, pixels } from './test-support/images.js';

const EXACT = { atol: 0, rtol: 0 };

beforeAll(useCpuAndWasm);

/** float64 reference of F.erase per image, as loops. */
function eraseReference(data: number[], [n, h, w, c]: Shape, params: ErasingParams, value: number[]): number[] {
  const out = [...data];
  for (let i = 0; i < n; i++) {
    if (!params.erase[i]) continue;
    const noise = params.noise?.[i] ?? null;
    let k = 0;
    for (let y = params.top[i] as number; y < (params.top[i] as number) + (params.height[i] as number); y++)
      for (let x = params.left[i] as number; x < (params.left[i] as number) + (params.width[i] as number); x++)
        for (let channel = 0; channel < c; channel++)
          out[((i * h + y) * w + x) * c + channel] = noise !== null ? (noise[k++] as number) : (value[value.length === 1 ? 0 : channel] as number);
  }
  return out;
}

/** Python's round (half to even). */
function pythonRound(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

describe('applyErasing', () => {
  it('erases a known box (rows 1-2, columns 0-1 of a 3x3 image)', () => {
    const x = tf.ones([1, 3, 3, 1]) as tf.Tensor4D;
    const out = applyErasing(x, { erase: [true], top: [1], left: [0], height: [2], width: [2] });
    expectTensorClose(out, [1, 1, 1, 0, 0, 1, 0, 0, 1], EXACT);
    tf.dispose([x, out]);
  });

  it('fills with a per-channel value, or with noise in (row, column, channel) order', () => {
    const x = tf.zeros([2, 2, 2, 3]) as tf.Tensor4D;
    const params = { erase: [true, true], top: [0, 1], left: [1, 0], height: [2, 1], width: [1, 2], noise: [null, [1, 2, 3, 4, 5, 6]] };
    const out = applyErasing(x, params, { value: [0.25, 0.5, 0.75] });
    const expected = [
      [0, 0, 0, 0.25, 0.5, 0.75, 0, 0, 0, 0.25, 0.5, 0.75],
      [0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6],
    ].flat();
    expectTensorClose(out, expected, EXACT);
    tf.dispose([x, out]);
  });

  it.each([
    [[3, 6, 7, 1], 0],
    [[2, 5, 5, 3], 0.5],
    [[2, 4, 6, 4], 1],
  ] as [Shape, number][])('matches the float64 reference on random boxes for shape %j, value %d; other pixels are exact copies', (shape, value) => {
    const [n, h, w, c] = shape;
    const data = pixels(shape.reduce((a, b) => a * b), 41);
    const rng = new Rng(n * 10 + c);
    const params = { erase: [] as boolean[], top: [] as number[], left: [] as number[], height: [] as number[], width: [] as number[], noise: [] as (number[] | null)[] };
    for (let i = 0; i < n; i++) {
      const height = rng.int(h + 1);
      const width = rng.int(w + 1);
      params.erase.push(i !== 1);
      params.height.push(height);
      params.width.push(width);
      params.top.push(rng.int(h - height + 1));
      params.left.push(rng.int(w - width + 1));
      params.noise.push(i === 2 ? Array.from({ length: height * width * c }, () => rng.normal()) : null);
    }
    const x = tf.tensor4d(data, shape);
    const out = applyErasing(x, params, { value });
    expect(out.shape).toEqual(shape);
    expect(out.dtype).toBe('float32');
    expectTensorClose(out, Float32Array.from(eraseReference(data, shape, params, [value])), EXACT);
    tf.dispose([x, out]);
  });

  it('copies exactly when nothing is erased or the boxes are empty', () => {
    const data = pixels(2 * 3 * 3 * 2, 2);
    const x = tf.tensor4d(data, [2, 3, 3, 2]);
    for (const params of [
      { erase: [false, false], top: [0, 0], left: [0, 0], height: [3, 3], width: [3, 3] },
      { erase: [true, true], top: [1, 3], left: [0, 1], height: [0, 0], width: [2, 2] },
    ]) {
      const out = applyErasing(x, params);
      expectTensorClose(out, Float32Array.from(data), EXACT);
      expect(out).not.toBe(x);
      out.dispose();
    }
    x.dispose();
  });

  it('rejects boxes outside the image, bad noise and bad values', () => {
    const x = tf.ones([2, 4, 4, 3]) as tf.Tensor4D;
    const params = { erase: [true, false], top: [1, 9], left: [0, -3], height: [2, 0.5], width: [2, 0] };
    expect(() => applyErasing(x, params)).not.toThrow();
    expectContrastiveError(() => applyErasing(x, { ...params, top: [3, 0] }), 'INVALID_ARGUMENT', /'params\.height\[0\]' passed to 'applyErasing' must be an integer >= 0 and <= 1, got 2/);
    expectContrastiveError(() => applyErasing(x, { ...params, left: [0.5, 0] }), 'INVALID_ARGUMENT', /'params\.left\[0\]' .* must be an integer >= 0 and <= 4, got 0\.5/);
    expectContrastiveError(() => applyErasing(x, { ...params, width: [2] }), 'SHAPE_MISMATCH', /'params\.width' .* must have 2 entries/);
    expectContrastiveError(() => applyErasing(x, { ...params, noise: [[1, 2], null] }), 'SHAPE_MISMATCH', /'params\.noise\[0\]' .* must have 12 entries \(height width c = 2\*2\*3\), got 2/);
    expectContrastiveError(() => applyErasing(x, { ...params, noise: [null] }), 'SHAPE_MISMATCH', /'params\.noise' .* must be an array of 2 entries/);
    expectContrastiveError(
      () => applyErasing(x, { ...params, noise: [new Array<number>(12).fill(Number.NaN), null] }),
      'INVALID_ARGUMENT',
      /'params\.noise\[0\]\[0\]' .* must be a finite number, got NaN/,
    );
    expectContrastiveError(() => applyErasing(x, params, { value: [0, 0] }), 'SHAPE_MISMATCH', /'value' passed to 'applyErasing' must have 1 or 3 entries .* got 2/);
    expectContrastiveError(() => applyErasing(x, params, { value: Number.POSITIVE_INFINITY }), 'INVALID_ARGUMENT', /'value' passed to 'applyErasing' must be a finite number/);
    x.dispose();
  });
});

describe('randomErasing', () => {
  it("draws coin, (scale, log-ratio) attempts, noise, then top and left — torchvision's order", () => {
    const shape: Shape = [6, 12, 10, 2];
    const options = { probability: 0.7, scale: [0.05, 0.4], ratio: [0.5, 2], value: 'random' } as const;
    const rng = new Rng(12);
    const replay = rng.clone();
    const sampled = randomErasing(options).sample(shape, rng);
    for (let i = 0; i < 6; i++) {
      if (!(replay.uniform() < 0.7)) {
        expect(sampled.erase[i]).toBe(false);
        continue;
      }
      let found = false;
      for (let attempt = 0; attempt < 10 && !found; attempt++) {
        const area = 120 * replay.uniform(0.05, 0.4);
        const aspect = Math.exp(replay.uniform(Math.log(0.5), Math.log(2)));
        const height = pythonRound(Math.sqrt(area * aspect));
        const width = pythonRound(Math.sqrt(area / aspect));
        if (!(height < 12 && width < 10)) continue;
        found = true;
        const noise = Array.from({ length: height * width * 2 }, () => Math.fround(replay.normal()));
        expect(sampled.erase[i]).toBe(true);
        expect([sampled.height[i], sampled.width[i]]).toEqual([height, width]);
        expect(Array.from(sampled.noise?.[i] ?? [])).toEqual(noise);
        expect(sampled.top[i]).toBe(replay.int(12 - height + 1));
        expect(sampled.left[i]).toBe(replay.int(10 - width + 1));
      }
      expect(found || sampled.erase[i] === false).toBe(true);
    }
    expect(rng.state()).toEqual(replay.state());
  });

  it("rounds like Python's round (half to even) and leaves the image unchanged when no attempt fits", () => {
    // 4x4 image, area 16: scale 2.25/16 -> side 1.5 -> 2; scale 6.25/16 -> side 2.5 -> 2.
    for (const scale of [2.25 / 16, 6.25 / 16]) {
      const sampled = randomErasing({ probability: 1, scale: [scale, scale], ratio: [1, 1] }).sample([1, 4, 4, 1], new Rng(0));
      expect([sampled.erase[0], sampled.height[0], sampled.width[0]]).toEqual([true, 2, 2]);
    }
    const rng = new Rng(3);
    const x = tf.tensor4d(pixels(2 * 5 * 5, 1), [2, 5, 5, 1]);
    const out = randomErasing({ probability: 1, scale: [1, 1], ratio: [1, 1] }).apply(x, rng);
    expectTensorClose(out, x, EXACT);
    const replay = new Rng(3);
    for (let i = 0; i < 2 * (1 + 20); i++) replay.uniform();
    expect(rng.state()).toEqual(replay.state());
    tf.dispose([x, out]);
  });

  it('draws boxes whose area and aspect follow the options (defaults: p 0.5, scale [0.02, 0.33], ratio [0.3, 3.3])', () => {
    const sampled = randomErasing().sample([4000, 32, 32, 3], new Rng(5));
    const erased = Array.from(sampled.erase);
    expect(Math.abs(erased.filter(Boolean).length / 4000 - 0.5)).toBeLessThan(0.03);
    for (let i = 0; i < 4000; i++) {
      if (!erased[i]) continue;
      const [top, left, height, width] = [sampled.top[i], sampled.left[i], sampled.height[i], sampled.width[i]] as [number, number, number, number];
      expect(height).toBeLessThan(32);
      expect(width).toBeLessThan(32);
      expect(top + height).toBeLessThanOrEqual(32);
      expect(left + width).toBeLessThanOrEqual(32);
      expect(height * width).toBeGreaterThanOrEqual(Math.floor(0.02 * 1024 * 0.6));
      expect(height * width).toBeLessThanOrEqual(Math.ceil(0.33 * 1024 * 1.3));
    }
    expect(sampled.noise).toBeUndefined();
  });

  it('apply = applyErasing of sample; [0, 1] kept with value 0; same seed same output; bit-identical on cpu and wasm; no leak', async () => {
    for (const value of [0, 'random'] as const) {
      const shape: Shape = [10, 8, 8, 3];
      const data = pixels(10 * 8 * 8 * 3, 5);
      const augmentation = randomErasing({ probability: 0.6, value });
      const images = tf.tensor4d(data, shape);
      await expectNoLeak(() => {
        const expected = applyErasing(images, augmentation.sample(shape, new Rng(2)));
        const got = augmentation.apply(images, new Rng(2));
        const other = augmentation.apply(images, new Rng(3));
        expectTensorClose(got, expected, EXACT);
        expect(Array.from(other.dataSync())).not.toEqual(Array.from(got.dataSync()));
        const [low, high] = valueRange(got);
        if (value === 0) expect([low >= 0, high <= 1]).toEqual([true, true]);
        else expect(low < 0 || high > 1).toBe(true);
        tf.dispose([expected, got, other]);
      });
      images.dispose();
      expectBitIdentical(await onCpuAndWasm(() => tf.tidy(() => augmentation.apply(tf.tensor4d(data, shape), new Rng(2)))));
    }
  });

  it('handles n = 1, a 1x1 image and c = 4', () => {
    const one = tf.tensor4d([0.5], [1, 1, 1, 1]);
    const same = randomErasing({ probability: 1 }).apply(one, new Rng(0));
    expectTensorClose(same, one, EXACT);
    const rgba = tf.ones([1, 6, 6, 4]) as tf.Tensor4D;
    const erased = randomErasing({ probability: 1, value: [0, 0.25, 0.5, 0.75] }).apply(rgba, new Rng(1));
    const values = new Set(Array.from(erased.dataSync()));
    expect([...values].sort()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    tf.dispose([one, same, rgba, erased]);
  });

  it('rejects bad options', () => {
    expectContrastiveError(() => randomErasing({ scale: [0.1, 1.5] }), 'INVALID_ARGUMENT', /'scale\[1\]' passed to 'randomErasing' must be a finite number >= 0 and <= 1, got 1\.5/);
    expectContrastiveError(() => randomErasing({ ratio: [0, 1] }), 'INVALID_ARGUMENT', /'ratio\[0\]' passed to 'randomErasing' must be a finite number > 0, got 0/);
    expectContrastiveError(() => randomErasing({ ratio: [3, 1] }), 'INVALID_ARGUMENT', /'ratio' .* must have low <= high/);
    expectContrastiveError(() => randomErasing({ value: 'noise' as never }), 'INVALID_ARGUMENT', /'value' passed to 'randomErasing' must be a number or a non-empty array of numbers .* got "noise"/);
    expectContrastiveError(() => randomErasing({ probability: 2 }), 'INVALID_ARGUMENT', /'probability' passed to 'randomErasing'/);
    expectContrastiveError(() => randomErasing().sample([2, 3, 3] as never, new Rng(0)), 'INVALID_ARGUMENT', /'shape' passed to 'randomErasing\.sample' must be \[n, h, w, c\]/);
    const x = tf.ones([1, 4, 4, 3]) as tf.Tensor4D;
    expectContrastiveError(() => randomErasing({ value: [0, 1] }).apply(x, new Rng(0)), 'SHAPE_MISMATCH', /'value' passed to 'randomErasing\.apply' must have 1 or 3 entries/);
    x.dispose();
  });
});

describe('cutout', () => {
  it('draws coin, cy, cx per image and clips the square at the border (even and odd sizes)', () => {
    for (const size of [4, 3]) {
      const rng = new Rng(8);
      const replay = rng.clone();
      const sampled = cutout({ size, probability: 0.7 }).sample([40, 6, 5, 1], rng);
      for (let i = 0; i < 40; i++) {
        const coin = replay.uniform() < 0.7;
        const cy = replay.int(6);
        const cx = replay.int(5);
        expect(sampled.erase[i]).toBe(coin);
        if (!coin) continue;
        const half = Math.floor(size / 2);
        const top = Math.max(0, cy - half);
        const left = Math.max(0, cx - half);
        expect([sampled.top[i], sampled.left[i], sampled.height[i], sampled.width[i]]).toEqual([
          top,
          left,
          Math.min(6, cy - half + size) - top,
          Math.min(5, cx - half + size) - left,
        ]);
      }
      expect(rng.state()).toEqual(replay.state());
    }
  });

  it('cuts a known clipped square out of a 4x4 image', () => {
    // size 3 centred at (0, 3): rows -1..1 -> 0..1, columns 2..4 -> 2..3
    const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
    const out = applyErasing(x, { erase: [true], top: [0], left: [2], height: [2], width: [2] });
    expectTensorClose(out, [1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1], EXACT);
    tf.dispose([x, out]);
  });

  it('apply = applyErasing of sample; probability 1 by default; bit-identical on cpu and wasm; no leak; a 1x1 image is cut whole', async () => {
    const shape: Shape = [6, 7, 7, 3];
    const data = pixels(6 * 7 * 7 * 3, 6);
    const augmentation = cutout({ size: 4, value: 0.5 });
    expect(Array.from(augmentation.sample(shape, new Rng(1)).erase).every(Boolean)).toBe(true);
    const images = tf.tensor4d(data, shape);
    await expectNoLeak(() => {
      const expected = applyErasing(images, augmentation.sample(shape, new Rng(4)), { value: 0.5 });
      const got = augmentation.apply(images, new Rng(4));
      expectTensorClose(got, expected, EXACT);
      tf.dispose([expected, got]);
    });
    images.dispose();
    expectBitIdentical(await onCpuAndWasm(() => tf.tidy(() => augmentation.apply(tf.tensor4d(data, shape), new Rng(4)))));
    const one = tf.tensor4d([0.3], [1, 1, 1, 1]);
    const cut = cutout({ size: 1 }).apply(one, new Rng(0));
    expectTensorClose(cut, [0], EXACT);
    tf.dispose([one, cut]);
  });

  it('rejects bad options', () => {
    expectContrastiveError(() => cutout({ size: 0 }), 'INVALID_ARGUMENT', /'size' passed to 'cutout' must be an integer >= 1, got 0/);
    expectContrastiveError(() => cutout({ probability: -1 }), 'INVALID_ARGUMENT', /'probability' passed to 'cutout'/);
    expectContrastiveError(() => cutout({ value: [] }), 'INVALID_ARGUMENT', /'value' passed to 'cutout' must be a number or a non-empty array/);
    const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
    expectContrastiveError(() => cutout({ value: [0, 0, 0] }).apply(x, new Rng(0)), 'SHAPE_MISMATCH', /'value' passed to 'cutout\.apply' must have 1 entry \(the images have 1 channel\), got 3/);
    x.dispose();
  });
});
